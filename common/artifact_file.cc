#include "common/artifact_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"

namespace hakd {
namespace {

constexpr char kMagic[] = "HAKDART1";
constexpr uint32_t kVersion = 1;
constexpr size_t kDigestBytes = 32;

void PutLe(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetLe(absl::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
  return v;
}

absl::Status Loss(absl::string_view source, size_t offset, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(source, ": at byte offset ", offset, ": ", what));
}

}  // namespace

absl::string_view ArtifactKindName(ArtifactKind kind) {
  return kind == ArtifactKind::kModel ? "model" : "checkpoint";
}

std::string EncodeArtifact(const ArtifactContents& c) {
  std::string out(kMagic, 8);
  PutLe(&out, kVersion, 4);
  PutLe(&out, static_cast<uint32_t>(c.kind), 4);
  std::string spec = c.spec.SerializeAsString();
  PutLe(&out, spec.size(), 8);
  out += spec;
  PutLe(&out, c.payload.size(), 8);
  out += c.payload;
  Sha256 h;
  h.Update(out);
  out += h.FinishRaw();
  return out;
}

absl::StatusOr<ArtifactContents> DecodeArtifact(absl::string_view bytes,
                                                absl::string_view source) {
  if (bytes.size() < 8 || bytes.substr(0, 8) != absl::string_view(kMagic, 8)) {
    return Loss(source, 0, "not a HAKD artifact (magic HAKDART1 missing)");
  }
  if (bytes.size() < 24 + kDigestBytes) return Loss(source, bytes.size(), "truncated header");
  uint32_t version = GetLe(bytes, 8, 4);
  if (version != kVersion) return Loss(source, 8, absl::StrCat("unsupported artifact version ", version));
  uint32_t kind = GetLe(bytes, 12, 4);
  if (kind != 1 && kind != 2) return Loss(source, 12, absl::StrCat("unknown artifact kind ", kind));
  // Verify the digest first: everything after it is then trustworthy.
  const size_t body = bytes.size() - kDigestBytes;
  Sha256 h;
  h.Update(bytes.substr(0, body));
  if (h.FinishRaw() != bytes.substr(body)) {
    return Loss(source, body, "checksum mismatch (the file is damaged or truncated)");
  }
  ArtifactContents c;
  c.kind = static_cast<ArtifactKind>(kind);
  size_t at = 16;
  uint64_t spec_len = GetLe(bytes, at, 8);
  at += 8;
  if (spec_len > body - at) return Loss(source, at - 8, "spec length runs past the end");
  if (!c.spec.ParseFromArray(bytes.data() + at, static_cast<int>(spec_len))) {
    return Loss(source, at, "network specification does not parse");
  }
  at += spec_len;
  if (body - at < 8) return Loss(source, at, "payload length missing");
  uint64_t payload_len = GetLe(bytes, at, 8);
  at += 8;
  if (payload_len != body - at) {
    return Loss(source, at - 8, absl::StrCat("payload length ", payload_len, " disagrees with the file (", body - at, " bytes left)"));
  }
  c.payload = std::string(bytes.substr(at, payload_len));
  return c;
}

absl::Status WriteArtifactFile(const std::string& path, const ArtifactContents& contents) {
  const std::string bytes = EncodeArtifact(contents);
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return absl::UnavailableError(absl::StrCat(tmp, ": ", std::strerror(errno)));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return absl::UnavailableError(absl::StrCat(tmp, ": write: ", why));
    }
    done += n;
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return absl::UnavailableError(absl::StrCat(tmp, ": fsync/close: ", std::strerror(errno)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return absl::UnavailableError(absl::StrCat(path, ": rename: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<ArtifactContents> ReadArtifactFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return DecodeArtifact(buffer.str(), path);
}

}  // namespace hakd
