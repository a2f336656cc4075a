// `hakdctl admin backup FILE` against the fake coordinator: the snapshot is
// checked (size, SHA-256) before it is renamed into place, a bad one leaves
// no file at all, large ones show progress, and failures exit as usual.
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/latency_client.h"
#include "cli/run.h"
#include "common/sha256.h"
#include "fake_coordinator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

constexpr int64_t kNow = 1'700'000'000'000;

struct Result {
  int code;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  return names;
}

class AdminBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/hakdctl-admin-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    token_file_ = dir_ + "/token";
    std::ofstream(token_file_) << "secret-token\n";
    out_ = dir_ + "/hakd-backup.db";
    SetData(std::string("SQLite format 3") + '\0' + std::string(984, 'x'));
  }

  void TearDown() override {
    for (const std::string& f : FilesIn(dir_)) unlink((dir_ + "/" + f).c_str());
    rmdir(dir_.c_str());
  }

  // The fake's snapshot: `data`, announced truthfully.
  void SetData(const std::string& data) {
    testing::FakeAdmin& fake = server_.admin();
    fake.data = data;
    hakd::v1::BackupInfo& info = fake.info;
    info.set_size_bytes(static_cast<int64_t>(data.size()));
    info.set_sha256(Sha256Hex(data));
    info.set_page_size(4096);
    info.set_pages((static_cast<int64_t>(data.size()) + 4095) / 4096);
    info.set_tables(14);
    info.set_schema_version(7);
    info.set_database("/srv/hakd/hakd.db");
  }

  Result Run(std::vector<std::string> args) {
    std::vector<std::string> full = {"--server", server_.address(),
                                     "--token-file", token_file_};
    full.insert(full.end(), args.begin(), args.end());
    std::ostringstream out;
    std::ostringstream err;
    RunEnvironment env;
    env.out = &out;
    env.err = &err;
    env.env = [](const char*) -> std::optional<std::string> {
      return std::nullopt;
    };
    env.clock = [] { return kNow; };
    env.connect = [](const GlobalOptions& o) {
      return LatencyClient::Create(o);
    };
    const int code = RunHakdctl(full, env);
    return {code, out.str(), err.str()};
  }

  testing::FakeServer server_;
  std::string dir_;
  std::string token_file_;
  std::string out_;
};

TEST_F(AdminBackupTest, SavesTheCheckedSnapshotAndSaysWhat) {
  const std::string data = server_.admin().data;
  Result r = Run({"admin", "backup", out_});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, "saved a backup of /srv/hakd/hakd.db to " + out_ +
                       ": 1000 bytes (1000 B), 1 pages of 4096 bytes, 14 "
                       "tables, schema v7, sha256 " +
                       Sha256Hex(data) + ", in 0.0 s\n");
  EXPECT_EQ(ReadFile(out_), data);
  EXPECT_THAT(FilesIn(dir_), UnorderedElementsAre("token", "hakd-backup.db"));

  r = Run({"admin", "backup", out_, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("{\"size_bytes\":\"1000\",\"sha256\":\""));
  EXPECT_THAT(r.out, HasSubstr("\"database\":\"/srv/hakd/hakd.db\""));
}

TEST_F(AdminBackupTest, ABadSnapshotLeavesNoFile) {
  testing::FakeAdmin& fake = server_.admin();
  const std::string right = fake.info.sha256();
  fake.info.set_sha256(std::string(64, 'a'));
  Result r = Run({"admin", "backup", out_});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "hakdctl: backup: SHA-256 " + right +
                       " of the received data differs from the announced " +
                       std::string(64, 'a') + "\n");
  EXPECT_THAT(FilesIn(dir_), UnorderedElementsAre("token"));

  fake.info.set_sha256(right);
  fake.info.set_size_bytes(1001);
  r = Run({"admin", "backup", out_});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "hakdctl: backup: received 1000 bytes, expected 1001\n");
  fake.info.set_size_bytes(999);
  r = Run({"admin", "backup", out_});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "hakdctl: backup: received more than the announced 999 bytes\n");
  EXPECT_THAT(FilesIn(dir_), UnorderedElementsAre("token"));

  // A file already there stays as it was.
  std::ofstream(out_) << "yesterday's backup";
  r = Run({"admin", "backup", out_});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(ReadFile(out_), "yesterday's backup");
}

TEST_F(AdminBackupTest, CoordinatorRefusalsExitAsUsual) {
  testing::FakeAdmin& fake = server_.admin();
  fake.status = grpc::Status(grpc::StatusCode::ABORTED,
                             "a backup is already running; try again when it "
                             "has finished");
  Result r = Run({"admin", "backup", out_});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "hakdctl: ABORTED: a backup is already running; try again when it "
            "has finished\n");
  fake.status = grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                             "role 'reader' (r) may not take backups");
  r = Run({"admin", "backup", out_});
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err, HasSubstr("(take backups)"));
  EXPECT_THAT(FilesIn(dir_), UnorderedElementsAre("token"));
}

TEST_F(AdminBackupTest, LargeSnapshotsShowProgressOnStandardError) {
  std::string data(16 << 20, 'd');
  SetData(data);
  server_.admin().chunk_size = 1 << 20;
  Result r = Run({"admin", "backup", out_});
  ASSERT_EQ(r.code, 0) << r.err;
  // A log (not a terminal) with a clock standing still: the first and the
  // last line.
  EXPECT_EQ(r.err,
            "backup: 1.0 MiB of 16.0 MiB (6%)\n"
            "backup: 16.0 MiB of 16.0 MiB (100%)\n");
  EXPECT_THAT(r.out, StartsWith("saved a backup of "));
  EXPECT_EQ(ReadFile(out_).size(), data.size());
}

TEST_F(AdminBackupTest, UsageErrors) {
  Result r = Run({"admin"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "hakdctl: 'admin' needs a subcommand: backup, token\n");
  r = Run({"admin", "backup"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "hakdctl: 'admin backup' needs FILE\n");
  r = Run({"help", "admin"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, StartsWith("usage: hakdctl admin backup FILE\n"));
}

}  // namespace
}  // namespace hakd::cli
