#include "server/artifact_store.h"

#include <dirent.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/server/test_util.h"

namespace hakd {
namespace {

constexpr int kLeaseMs = 1000;

bool HasSubstr(absl::string_view text, absl::string_view part) {
  return text.find(part) != absl::string_view::npos;
}

// Names in a directory, without "." and "..".
std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str()); d != nullptr) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(d);
  }
  return names;
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Deterministic bytes that are not all alike.
std::string Bytes(size_t n, unsigned seed) {
  std::string s(n, '\0');
  unsigned x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>(x >> 16);
  }
  return s;
}

class ArtifactStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = hakd::testing::MakeTempDir();
    TrainingStoreOptions options;
    options.path = dir_ + "/hakd.db";
    options.synchronous_full = false;
    options.lease_ms = kLeaseMs;
    auto index = TrainingStore::Open(options);
    ASSERT_TRUE(index.ok()) << index.status();
    index_ = *std::move(index);
    // A leftover from a crashed upload is cleared at open.
    ASSERT_EQ(mkdir((dir_ + "/artifacts").c_str(), 0755), 0);
    ASSERT_EQ(mkdir((dir_ + "/artifacts/tmp").c_str(), 0755), 0);
    std::ofstream(dir_ + "/artifacts/tmp/upload-stale") << "junk";
    auto artifacts = ArtifactStore::Open(dir_ + "/artifacts", index_.get());
    ASSERT_TRUE(artifacts.ok()) << artifacts.status();
    artifacts_ = *std::move(artifacts);
    EXPECT_TRUE(List(TmpDir()).empty());

    hakd::v1::WorkerCapabilities caps;
    caps.set_device("cpu");
    ASSERT_TRUE(index_->RegisterWorker("w1", caps, 0).ok());
    hakd::v1::TrainingSpec spec;
    spec.set_dataset("cifar10");
    task_a_ = index_->Submit(spec, 0, 0).value().task_id();
    task_b_ = index_->Submit(spec, 0, 0).value().task_id();
    lease_a_ = index_->LeaseTask("w1", 0).value()->lease_id;
    lease_b_ = index_->LeaseTask("w1", 0).value()->lease_id;
  }

  std::string TmpDir() const { return dir_ + "/artifacts/tmp"; }

  hakd::v1::ArtifactHeader Header(const std::string& lease_id,
                                  const std::string& kind,
                                  const std::string& data) {
    hakd::v1::ArtifactHeader h;
    h.set_lease_id(lease_id);
    h.set_kind(kind);
    h.set_size_bytes(static_cast<int64_t>(data.size()));
    h.set_sha256(Sha256Hex(data));
    return h;
  }

  // Uploads `data` in 64 KiB pieces under `header`.
  absl::StatusOr<ArtifactRecord> Upload(const hakd::v1::ArtifactHeader& header,
                                        const std::string& data,
                                        int64_t now_ms = 10) {
    auto upload = artifacts_->BeginUpload(header, now_ms);
    if (!upload.ok()) return upload.status();
    for (size_t off = 0; off < data.size(); off += 65536) {
      absl::Status st = (*upload)->Append(absl::string_view(data).substr(off, 65536));
      if (!st.ok()) return st;
    }
    return (*upload)->Finish(now_ms);
  }

  absl::StatusOr<std::string> Download(const ArtifactRecord& record,
                                       std::vector<size_t>* sizes = nullptr) {
    std::string got;
    bool saw_header = false;
    absl::Status st = artifacts_->Stream(
        record, [&](const hakd::v1::ArtifactChunk& chunk) {
          if (!saw_header) {
            EXPECT_TRUE(chunk.has_header());
            EXPECT_EQ(chunk.header().info().artifact_id(), record.artifact_id);
            EXPECT_EQ(chunk.header().info().size_bytes(), record.size_bytes);
            EXPECT_EQ(chunk.header().info().sha256(), record.sha256);
            saw_header = true;
            return true;
          }
          EXPECT_TRUE(chunk.has_data());
          if (sizes != nullptr) sizes->push_back(chunk.data().size());
          got += chunk.data();
          return true;
        });
    if (!st.ok()) return st;
    EXPECT_TRUE(saw_header);
    return got;
  }

  std::string dir_;
  std::unique_ptr<TrainingStore> index_;
  std::unique_ptr<ArtifactStore> artifacts_;
  int64_t task_a_ = 0;
  int64_t task_b_ = 0;
  std::string lease_a_;
  std::string lease_b_;
};

TEST(Sha256Test, KnownDigests) {
  EXPECT_EQ(Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(ArtifactStoreTest, VerifiedUploadIsStoredAndDownloadsInMebibyteChunks) {
  const std::string data = Bytes((5 << 19) + 123, 1);  // 2.5 MiB + 123 bytes
  auto record = Upload(Header(lease_a_, "model", data), data);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->artifact_id.rfind("art-" + Sha256Hex(data).substr(0, 12) + "-", 0),
            0u) << record->artifact_id;
  EXPECT_EQ(record->kind, "model");
  EXPECT_EQ(record->task_id, task_a_);
  EXPECT_EQ(record->size_bytes, static_cast<int64_t>(data.size()));
  EXPECT_EQ(ReadAll(artifacts_->FullPath(record->path)), data);
  EXPECT_TRUE(List(TmpDir()).empty());
  auto indexed = index_->GetArtifact(record->artifact_id);
  ASSERT_TRUE(indexed.ok()) << indexed.status();
  EXPECT_EQ(indexed->sha256, Sha256Hex(data));

  std::vector<size_t> sizes;
  auto got = Download(*indexed, &sizes);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == data);
  ASSERT_EQ(sizes.size(), 3u);
  EXPECT_EQ(sizes[0], static_cast<size_t>(kArtifactChunkBytes));
  EXPECT_EQ(sizes[1], static_cast<size_t>(kArtifactChunkBytes));
  EXPECT_EQ(sizes[2], data.size() - 2 * kArtifactChunkBytes);
}

TEST_F(ArtifactStoreTest, WrongDigestLeavesNothingBehind) {
  const std::string data = Bytes(100000, 2);
  hakd::v1::ArtifactHeader header = Header(lease_a_, "model", data);
  header.set_sha256(Sha256Hex("something else"));
  auto record = Upload(header, data);
  EXPECT_EQ(record.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(HasSubstr(record.status().message(),
                        "expected " + Sha256Hex("something else")));
  EXPECT_TRUE(HasSubstr(record.status().message(), "got " + Sha256Hex(data)));
  EXPECT_TRUE(List(TmpDir()).empty());
  EXPECT_EQ(List(dir_ + "/artifacts"), std::vector<std::string>{"tmp"});
  // Nothing was indexed: the task has no model to complete with.
  EXPECT_EQ(index_->Complete(lease_a_, "art-" + Sha256Hex(data).substr(0, 12) + "-1", 20)
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ArtifactStoreTest, WrongSizeLeavesNothingBehind) {
  const std::string data = Bytes(1000, 3);
  hakd::v1::ArtifactHeader header = Header(lease_a_, "model", data);
  header.set_size_bytes(1001);
  auto shorter = Upload(header, data);
  EXPECT_EQ(shorter.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(HasSubstr(shorter.status().message(), "expected 1001 bytes, got 1000"))
      << shorter.status();
  header.set_size_bytes(999);
  auto longer = Upload(header, data);
  EXPECT_EQ(longer.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(HasSubstr(longer.status().message(), "expected 999 bytes"));
  EXPECT_TRUE(List(TmpDir()).empty());
  EXPECT_EQ(List(dir_ + "/artifacts"), std::vector<std::string>{"tmp"});
}

TEST_F(ArtifactStoreTest, AbandonedUploadLeavesNothingBehind) {
  const std::string data = Bytes(1000, 4);
  {
    auto upload = artifacts_->BeginUpload(Header(lease_a_, "model", data), 10);
    ASSERT_TRUE(upload.ok()) << upload.status();
    ASSERT_TRUE((*upload)->Append(data.substr(0, 500)).ok());
    EXPECT_EQ(List(TmpDir()).size(), 1u);
  }
  EXPECT_TRUE(List(TmpDir()).empty());
}

TEST_F(ArtifactStoreTest, HeaderIsValidatedFieldByField) {
  const std::string data = Bytes(10, 5);
  struct Case {
    std::function<void(hakd::v1::ArtifactHeader*)> mutate;
    absl::StatusCode code;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {[](auto* h) { h->set_lease_id(""); }, absl::StatusCode::kInvalidArgument,
       "header.lease_id"},
      {[](auto* h) { h->set_lease_id("XYZ"); }, absl::StatusCode::kInvalidArgument,
       "header.lease_id"},
      {[](auto* h) { h->set_kind("weights"); }, absl::StatusCode::kInvalidArgument,
       "header.kind"},
      {[](auto* h) { h->set_size_bytes(0); }, absl::StatusCode::kInvalidArgument,
       "header.size_bytes"},
      {[](auto* h) { h->set_size_bytes((int64_t{2} << 30) + 1); },
       absl::StatusCode::kInvalidArgument, "2 GiB"},
      {[](auto* h) { h->set_sha256("ABC"); }, absl::StatusCode::kInvalidArgument,
       "header.sha256"},
      {[](auto* h) { h->set_sha256(std::string(64, 'A')); },
       absl::StatusCode::kInvalidArgument, "header.sha256"},
      {[](auto* h) { h->set_lease_id(std::string(32, '0')); },
       absl::StatusCode::kFailedPrecondition, "lease expired"},
  };
  for (const Case& c : cases) {
    hakd::v1::ArtifactHeader h = Header(lease_a_, "model", data);
    c.mutate(&h);
    auto upload = artifacts_->BeginUpload(h, 10);
    EXPECT_EQ(upload.status().code(), c.code) << c.needle;
    EXPECT_TRUE(HasSubstr(upload.status().message(), c.needle)) << upload.status();
  }
  // The limit itself is allowed.
  hakd::v1::ArtifactHeader h = Header(lease_a_, "model", data);
  h.set_size_bytes(int64_t{2} << 30);
  EXPECT_TRUE(artifacts_->BeginUpload(h, 10).ok());
  EXPECT_TRUE(List(TmpDir()).empty());
}

TEST_F(ArtifactStoreTest, LeaseLostDuringUploadIndexesNothing) {
  const std::string data = Bytes(1000, 6);
  auto upload = artifacts_->BeginUpload(Header(lease_a_, "model", data), 10);
  ASSERT_TRUE(upload.ok()) << upload.status();
  ASSERT_TRUE((*upload)->Append(data).ok());
  auto record = (*upload)->Finish(kLeaseMs + 500);  // the lease ran out
  EXPECT_EQ(record.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(List(TmpDir()).empty());
  EXPECT_EQ(List(dir_ + "/artifacts"), std::vector<std::string>{"tmp"});
}

TEST_F(ArtifactStoreTest, NewCheckpointReplacesTheOld) {
  const std::string first = Bytes(3000, 7);
  const std::string second = Bytes(4000, 8);
  auto c1 = Upload(Header(lease_a_, "checkpoint", first), first);
  ASSERT_TRUE(c1.ok()) << c1.status();
  EXPECT_EQ(index_->GetTask(task_a_).value().checkpoint_artifact_id(), c1->artifact_id);
  auto c2 = Upload(Header(lease_a_, "checkpoint", second), second, 20);
  ASSERT_TRUE(c2.ok()) << c2.status();
  EXPECT_EQ(index_->GetTask(task_a_).value().checkpoint_artifact_id(), c2->artifact_id);
  EXPECT_FALSE(Exists(artifacts_->FullPath(c1->path)));
  EXPECT_EQ(ReadAll(artifacts_->FullPath(c2->path)), second);
  EXPECT_EQ(index_->GetArtifact(c1->artifact_id).status().code(),
            absl::StatusCode::kNotFound);
  // A model of the same task is not a checkpoint and stays.
  auto model = Upload(Header(lease_a_, "model", first), first, 30);
  ASSERT_TRUE(model.ok()) << model.status();
  auto c3 = Upload(Header(lease_a_, "checkpoint", first), first, 40);
  ASSERT_TRUE(c3.ok()) << c3.status();
  EXPECT_TRUE(Exists(artifacts_->FullPath(model->path)));
  EXPECT_FALSE(Exists(artifacts_->FullPath(c2->path)));
}

TEST_F(ArtifactStoreTest, WorkersMayFetchModelsAndTheirOwnCheckpoint) {
  const std::string data = Bytes(2000, 9);
  auto model_a = Upload(Header(lease_a_, "model", data), data);
  auto checkpoint_a = Upload(Header(lease_a_, "checkpoint", data), data);
  ASSERT_TRUE(model_a.ok() && checkpoint_a.ok());
  // Task b's worker: a's model (a teacher) yes, a's checkpoint no.
  auto teacher = artifacts_->ForWorker(lease_b_, model_a->artifact_id, 20);
  ASSERT_TRUE(teacher.ok()) << teacher.status();
  EXPECT_EQ(teacher->artifact_id, model_a->artifact_id);
  auto other = artifacts_->ForWorker(lease_b_, checkpoint_a->artifact_id, 20);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kPermissionDenied);
  auto own = artifacts_->ForWorker(lease_a_, checkpoint_a->artifact_id, 20);
  ASSERT_TRUE(own.ok()) << own.status();
  auto got = Download(*own);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == data);
  EXPECT_EQ(artifacts_->ForWorker(lease_a_, "art-000000000000-77", 20).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(artifacts_->ForWorker(std::string(32, 'f'), model_a->artifact_id, 20)
                .status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ArtifactStoreTest, MissingFileIsDataLossNamingThePath) {
  const std::string data = Bytes(2000, 10);
  auto model = Upload(Header(lease_a_, "model", data), data);
  ASSERT_TRUE(model.ok()) << model.status();
  const std::string path = artifacts_->FullPath(model->path);
  ASSERT_EQ(unlink(path.c_str()), 0);
  auto got = Download(*model);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(HasSubstr(got.status().message(), path)) << got.status();
}

TEST_F(ArtifactStoreTest, ClientGoneStopsTheStream) {
  const std::string data = Bytes(3 << 20, 11);
  auto model = Upload(Header(lease_a_, "model", data), data);
  ASSERT_TRUE(model.ok()) << model.status();
  int writes = 0;
  absl::Status st = artifacts_->Stream(*model, [&](const hakd::v1::ArtifactChunk&) {
    return ++writes < 2;
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(writes, 2);
}

// The quota counts stored artifacts and uploads in progress; going over it
// is refused before a byte is written, and a failed upload gives its
// reservation back.
TEST_F(ArtifactStoreTest, QuotaRefusesUploadsThatWouldPassIt) {
  auto quota = ArtifactStore::Open(dir_ + "/artifacts", index_.get(),
                                   ArtifactStoreOptions{3000, 0});
  ASSERT_TRUE(quota.ok()) << quota.status();
  artifacts_ = *std::move(quota);
  const std::string a(2000, 'a'), b(1500, 'b'), c(900, 'c');
  ASSERT_TRUE(Upload(Header(lease_a_, "checkpoint", a), a).ok());
  absl::StatusOr<ArtifactRecord> over = Upload(Header(lease_b_, "checkpoint", b), b);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(over.status().message().find("quota of 3000"), std::string::npos)
      << over.status();
  EXPECT_TRUE(List(TmpDir()).empty());
  {
    // An upload in progress holds its bytes until it ends.
    auto pending = artifacts_->BeginUpload(Header(lease_b_, "checkpoint", c), 10);
    ASSERT_TRUE(pending.ok()) << pending.status();
    EXPECT_EQ(artifacts_->reserved_bytes(), 900);
    EXPECT_EQ(artifacts_->BeginUpload(Header(lease_b_, "model", c), 10).status().code(),
              absl::StatusCode::kResourceExhausted);
  }
  EXPECT_EQ(artifacts_->reserved_bytes(), 0);
  EXPECT_TRUE(Upload(Header(lease_b_, "checkpoint", c), c).ok());
  EXPECT_EQ(index_->ArtifactBytes().value_or(-1), 2900);
  EXPECT_EQ(artifacts_->reserved_bytes(), 0);
  // A free-space margin no disk has refuses everything.
  auto full = ArtifactStore::Open(dir_ + "/artifacts", index_.get(),
                                  ArtifactStoreOptions{0, int64_t{1} << 62});
  ASSERT_TRUE(full.ok());
  EXPECT_EQ((*full)->BeginUpload(Header(lease_b_, "model", c), 10).status().code(),
            absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace hakd
