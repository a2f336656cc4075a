// Size and SHA-256 checks of downloaded artifacts.
#include "cli/artifact_download.h"

#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hakd::cli {
namespace {

using ::testing::HasSubstr;

hakd::v1::ArtifactInfo InfoOf(const std::string& payload) {
  hakd::v1::ArtifactInfo info;
  info.set_artifact_id("art-test-1");
  info.set_kind("model");
  info.set_size_bytes(static_cast<int64_t>(payload.size()));
  info.set_sha256(Sha256Hex(payload));
  return info;
}

TEST(ArtifactDownloadTest, KnownDigests) {
  EXPECT_EQ(Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 incremental;
  incremental.Update("a");
  incremental.Update("bc");
  EXPECT_EQ(incremental.FinishHex(), Sha256Hex("abc"));
}

TEST(ArtifactDownloadTest, GoodPayloadPasses) {
  const std::string payload(3 << 20, 'x');
  EXPECT_TRUE(VerifyArtifactPayload(InfoOf(payload), payload).ok());
  hakd::v1::ArtifactInfo upper = InfoOf(payload);
  for (char& c : *upper.mutable_sha256()) c = std::toupper(c);
  EXPECT_TRUE(VerifyArtifactPayload(upper, payload).ok());
}

TEST(ArtifactDownloadTest, CorruptedPayloadIsRefused) {
  const std::string payload = "weights and biases";
  const hakd::v1::ArtifactInfo info = InfoOf(payload);
  std::string flipped = payload;
  flipped[3] ^= 1;
  absl::Status s = VerifyArtifactPayload(info, flipped);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("artifact art-test-1: SHA-256 "));
  s = VerifyArtifactPayload(info, payload.substr(1));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(s.message(),
            "artifact art-test-1: received 17 bytes, expected 18");
  hakd::v1::ArtifactInfo no_digest = info;
  no_digest.clear_sha256();
  EXPECT_EQ(VerifyArtifactPayload(no_digest, payload).code(),
            absl::StatusCode::kDataLoss);
}

hakd::v1::ArtifactChunk Header(const hakd::v1::ArtifactInfo& info) {
  hakd::v1::ArtifactChunk c;
  *c.mutable_header()->mutable_info() = info;
  return c;
}

hakd::v1::ArtifactChunk Data(const std::string& data) {
  hakd::v1::ArtifactChunk c;
  c.set_data(data);
  return c;
}

TEST(ArtifactDownloadTest, ReceiverWritesAndChecks) {
  const std::string payload = "0123456789abcdef";
  std::ostringstream out;
  ArtifactReceiver r("art-test-1", out);
  ASSERT_TRUE(r.Add(Header(InfoOf(payload))).ok());
  ASSERT_TRUE(r.Add(Data(payload.substr(0, 10))).ok());
  ASSERT_TRUE(r.Add(Data(payload.substr(10))).ok());
  ASSERT_TRUE(r.Finish().ok());
  EXPECT_EQ(out.str(), payload);
  EXPECT_EQ(r.bytes(), 16);
  EXPECT_EQ(r.sha256(), Sha256Hex(payload));
}

TEST(ArtifactDownloadTest, ReceiverRefusesBadStreams) {
  const std::string payload = "0123456789abcdef";
  {
    std::ostringstream out;
    ArtifactReceiver r("a", out);
    EXPECT_EQ(r.Add(Data("x")).code(), absl::StatusCode::kDataLoss);
  }
  {
    std::ostringstream out;
    ArtifactReceiver r("a", out);
    ASSERT_TRUE(r.Add(Header(InfoOf(payload))).ok());
    EXPECT_EQ(r.Add(Header(InfoOf(payload))).code(),
              absl::StatusCode::kDataLoss);
  }
  {
    std::ostringstream out;
    ArtifactReceiver r("a", out);
    ASSERT_TRUE(r.Add(Header(InfoOf(payload))).ok());
    EXPECT_EQ(r.Add(Data(payload + "!")).code(), absl::StatusCode::kDataLoss);
  }
  {
    std::ostringstream out;
    ArtifactReceiver r("a", out);
    EXPECT_EQ(r.Finish().code(), absl::StatusCode::kDataLoss);
  }
  {  // the header's own size and digest when its info lacks them
    std::ostringstream out;
    ArtifactReceiver r("a", out);
    hakd::v1::ArtifactChunk h;
    h.mutable_header()->set_size_bytes(16);
    h.mutable_header()->set_sha256(Sha256Hex(payload));
    ASSERT_TRUE(r.Add(h).ok());
    ASSERT_TRUE(r.Add(Data(payload)).ok());
    EXPECT_TRUE(r.Finish().ok());
    EXPECT_EQ(r.info().artifact_id(), "a");
  }
}

}  // namespace
}  // namespace hakd::cli
