#include "cli/csv.h"

#include <charconv>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/layer_spec.h"

namespace hakd::cli {

std::string CsvField(absl::string_view field) {
  if (field.find_first_of(",\"\r\n") == absl::string_view::npos) {
    return std::string(field);
  }
  return absl::StrCat("\"", absl::StrReplaceAll(field, {{"\"", "\"\""}}), "\"");
}

std::string ShortestDouble(double value) {
  char buffer[64];
  const std::to_chars_result r =
      std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, r.ptr);
}

absl::string_view DTypeName(hakd::v1::DType dtype) {
  switch (dtype) {
    case hakd::v1::DTYPE_FLOAT16:
      return "float16";
    case hakd::v1::DTYPE_BFLOAT16:
      return "bfloat16";
    default:
      return "float32";
  }
}

std::string MeasurementCsvHeader() {
  return "id,device_id,kind,batch,in_channels,out_channels,height,width,"
         "kernel,stride,padding,groups,dtype,backend,threads,median_us,p10_us,"
         "p90_us,mean_us,stddev_us,samples,runs_per_sample,measured_unix_ms,"
         "received_unix_ms,run_id,sweep_id,item_index,cv,unstable,attempts,"
         "interop_threads,governor,frequency_khz,temperature_c,load_1m,"
         "emulated\n";
}

std::string MeasurementCsvRow(const hakd::v1::Measurement& m,
                              bool emulated) {
  const hakd::v1::LayerSpec& l = m.layer();
  const std::string fields[] = {
      absl::StrCat(m.id()),
      absl::StrCat(m.device_id()),
      CsvField(LayerKindName(l.kind())),
      absl::StrCat(l.batch()),
      absl::StrCat(l.in_channels()),
      absl::StrCat(l.out_channels()),
      absl::StrCat(l.height()),
      absl::StrCat(l.width()),
      absl::StrCat(l.kernel()),
      absl::StrCat(l.stride()),
      absl::StrCat(l.padding()),
      absl::StrCat(l.groups()),
      CsvField(DTypeName(l.dtype())),
      CsvField(m.backend()),
      absl::StrCat(m.threads()),
      ShortestDouble(m.median_us()),
      ShortestDouble(m.p10_us()),
      ShortestDouble(m.p90_us()),
      ShortestDouble(m.mean_us()),
      ShortestDouble(m.stddev_us()),
      absl::StrCat(m.samples()),
      absl::StrCat(m.runs_per_sample()),
      absl::StrCat(m.measured_unix_ms()),
      absl::StrCat(m.received_unix_ms()),
      CsvField(m.run_id()),
      absl::StrCat(m.sweep_id()),
      absl::StrCat(m.item_index()),
      ShortestDouble(m.cv()),
      m.unstable() ? "1" : "0",
      absl::StrCat(m.attempts()),
      absl::StrCat(m.interop_threads()),
      CsvField(m.state().frequency_governor()),
      absl::StrCat(m.state().frequency_khz()),
      ShortestDouble(m.state().temperature_c()),
      ShortestDouble(m.state().load_average_1m()),
      emulated ? "1" : "0",
  };
  return absl::StrCat(absl::StrJoin(fields, ","), "\n");
}

}  // namespace hakd::cli
