// The admin subcommands' table and `admin backup`.
#include "cli/admin_commands.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/atomic_file.h"
#include "cli/backup_receiver.h"
#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/live_display.h"
#include "cli/number_format.h"
#include "common/status_macros.h"

namespace hakd::cli {
namespace {

// Snapshots at least this large show their progress on standard error.
constexpr int64_t kProgressMinBytes = int64_t{16} << 20;

// "backup: 12.0 MiB of 120.5 MiB (9%)"; `total` > 0.
std::string ProgressLine(int64_t done, int64_t total) {
  return absl::StrCat("backup: ", FormatBytes(done), " of ", FormatBytes(total),
                      " (", done * 100 / total, "%)");
}

}  // namespace

const std::vector<AdminCommand>& AdminCommands() {
  static const auto* const commands = new std::vector<AdminCommand>{
      {{{"admin", "backup"},
        {"FILE"},
        false,
        {},
        "write a consistent snapshot of the coordinator's database to FILE "
        "(admin token)",
        {}},
       RunAdminBackup},
      {{{"admin", "token", "create"},
        {},
        false,
        {"role", "device", "name"},
        "make a bearer token and print it once with its auth-file line "
        "(digest only); runs locally",
        {"role"}},
       RunAdminTokenCreate},
  };
  return *commands;
}

absl::Status RunAdminBackup(CommandContext& ctx) {
  const std::string& path = ctx.arguments()[0];
  if (path.empty()) return UsageError("admin backup: FILE must not be empty");
  HAKD_ASSIGN_OR_RETURN(LatencyClient * client, ctx.Client());
  // Created before the call so that an unwritable path fails first; the
  // temporary file goes away unless the whole snapshot arrived intact.
  HAKD_ASSIGN_OR_RETURN(std::unique_ptr<AtomicFile> file,
                        AtomicFile::Create(path));
  const int64_t start_ms = ctx.NowUnixMs();
  BackupReceiver receiver(file->stream());
  std::optional<LiveDisplay> progress;
  int64_t shown_percent = -1;
  absl::Status received = client->Backup(
      [&](const hakd::v1::BackupChunk& chunk) -> absl::StatusOr<bool> {
        HAKD_RETURN_IF_ERROR(receiver.Add(chunk));
        const int64_t total = receiver.info().size_bytes();
        if (chunk.has_info() && total >= kProgressMinBytes) {
          progress.emplace(ctx.err(),
                           ctx.out_is_terminal() ? LiveDisplay::Mode::kTerminal
                                                 : LiveDisplay::Mode::kLines,
                           5.0);
        }
        if (progress.has_value() && chunk.has_data()) {
          const int64_t percent = receiver.bytes() * 100 / total;
          if (percent != shown_percent) {
            shown_percent = percent;
            // In a log: the first line, one every few seconds, the last.
            HAKD_RETURN_IF_ERROR(
                progress->Show(nullptr, ProgressLine(receiver.bytes(), total),
                               /*news=*/percent == 100, ctx.NowUnixMs()));
          }
        }
        return true;
      });
  if (progress.has_value()) progress->Abort();  // ends a redrawn line
  HAKD_RETURN_IF_ERROR(received);
  HAKD_RETURN_IF_ERROR(receiver.Finish());
  HAKD_RETURN_IF_ERROR(file->Commit());
  const hakd::v1::BackupInfo& info = receiver.info();
  if (ctx.options().json) return ctx.PrintJson(info);
  ctx.out() << "saved a backup of " << info.database() << " to " << path << ": "
            << info.size_bytes() << " bytes (" << FormatBytes(info.size_bytes())
            << "), " << info.pages() << " pages of " << info.page_size()
            << " bytes, " << info.tables() << " tables, schema v"
            << info.schema_version() << ", sha256 " << info.sha256() << ", in "
            << absl::StrFormat("%.1f s", (ctx.NowUnixMs() - start_ms) / 1000.0)
            << "\n";
  return absl::OkStatus();
}

}  // namespace hakd::cli
