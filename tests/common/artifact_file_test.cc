// Artifact files: round trips, and a damaged, truncated or foreign file
// refused with DATA_LOSS instead of loaded. And the SHA-256 that seals them.
#include "common/artifact_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "common/sha256.h"

namespace hakd {
namespace {

using ::testing::HasSubstr;

ArtifactContents Sample(ArtifactKind kind) {
  ArtifactContents c;
  c.kind = kind;
  c.spec.set_name("tiny");
  c.spec.mutable_input()->set_channels(1);
  c.spec.mutable_input()->set_height(8);
  c.spec.mutable_input()->set_width(8);
  c.spec.set_num_classes(2);
  c.spec.mutable_stem()->set_out_channels(4);
  c.spec.add_stages()->add_blocks()->mutable_residual()->set_out_channels(4);
  for (int i = 0; i < 1000; ++i) c.payload.push_back(static_cast<char>(i * 13 % 256));
  return c;
}

void ExpectSame(const ArtifactContents& got, const ArtifactContents& want) {
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.spec.SerializeAsString(), want.spec.SerializeAsString());
  EXPECT_EQ(got.payload, want.payload);
}

TEST(ArtifactFileTest, RoundTripModelAndCheckpoint) {
  for (ArtifactKind kind : {ArtifactKind::kModel, ArtifactKind::kCheckpoint}) {
    ArtifactContents c = Sample(kind);
    std::string bytes = EncodeArtifact(c);
    EXPECT_EQ(bytes.substr(0, 8), "HAKDART1");
    auto back = DecodeArtifact(bytes, "x");
    ASSERT_TRUE(back.ok()) << back.status();
    ExpectSame(*back, c);
  }
  EXPECT_EQ(ArtifactKindName(ArtifactKind::kModel), "model");
  EXPECT_EQ(ArtifactKindName(ArtifactKind::kCheckpoint), "checkpoint");
}

TEST(ArtifactFileTest, EmptySpecAndPayloadRoundTrip) {
  ArtifactContents c;
  c.kind = ArtifactKind::kCheckpoint;
  auto back = DecodeArtifact(EncodeArtifact(c), "empty");
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSame(*back, c);
}

TEST(ArtifactFileTest, LayoutIsAsDocumented) {
  ArtifactContents c = Sample(ArtifactKind::kCheckpoint);
  std::string bytes = EncodeArtifact(c);
  const std::string spec = c.spec.SerializeAsString();
  ASSERT_EQ(bytes.size(), 8 + 4 + 4 + 8 + spec.size() + 8 + c.payload.size() + 32);
  EXPECT_EQ(bytes[8], 1);   // version, little-endian
  EXPECT_EQ(bytes[12], 2);  // kind checkpoint
  EXPECT_EQ(static_cast<unsigned char>(bytes[16]), spec.size());
  EXPECT_EQ(bytes.substr(24, spec.size()), spec);
  // The digest seals everything before it.
  Sha256 h;
  h.Update(absl::string_view(bytes).substr(0, bytes.size() - 32));
  EXPECT_EQ(h.FinishRaw(), bytes.substr(bytes.size() - 32));
}

TEST(ArtifactFileTest, AnyFlippedByteIsDataLoss) {
  const std::string bytes = EncodeArtifact(Sample(ArtifactKind::kModel));
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x20);
    auto r = DecodeArtifact(damaged, "flipped.hakd");
    ASSERT_FALSE(r.ok()) << "byte " << i;
    ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << "byte " << i;
    const std::string msg(r.status().message());
    EXPECT_THAT(msg, HasSubstr("flipped.hakd"));
    // Past the magic, version and kind the checksum catches it.
    if (i >= 16) EXPECT_THAT(msg, HasSubstr("checksum")) << "byte " << i;
  }
}

TEST(ArtifactFileTest, TruncationIsDataLoss) {
  const std::string bytes = EncodeArtifact(Sample(ArtifactKind::kCheckpoint));
  for (size_t keep : {size_t{0}, size_t{5}, size_t{8}, size_t{30}, size_t{100},
                      bytes.size() / 2, bytes.size() - 32, bytes.size() - 1}) {
    auto r = DecodeArtifact(bytes.substr(0, keep), "cut.hakd");
    ASSERT_FALSE(r.ok()) << "kept " << keep;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << "kept " << keep;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("cut.hakd"));
  }
  // Extra bytes at the end are refused too.
  auto r = DecodeArtifact(bytes + "x", "long.hakd");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
}

TEST(ArtifactFileTest, BadMagicIsDataLoss) {
  std::string bytes = EncodeArtifact(Sample(ArtifactKind::kModel));
  bytes.replace(0, 8, "PK\x03\x04zzzz");
  auto r = DecodeArtifact(bytes, "zip.hakd");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("zip.hakd"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("magic"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("offset 0"));
}

TEST(ArtifactFileTest, ForgedHeaderWithValidChecksumIsStillChecked) {
  // Someone rewrites the payload length and reseals: the lengths disagree.
  ArtifactContents c = Sample(ArtifactKind::kModel);
  std::string bytes = EncodeArtifact(c);
  std::string body = bytes.substr(0, bytes.size() - 32);
  const size_t payload_len_at = 24 + c.spec.SerializeAsString().size();
  body[payload_len_at] = static_cast<char>(body[payload_len_at] + 1);
  Sha256 h;
  h.Update(body);
  auto r = DecodeArtifact(body + h.FinishRaw(), "forged");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("payload length"));

  // An unknown kind.
  body = bytes.substr(0, bytes.size() - 32);
  body[12] = 7;
  Sha256 h2;
  h2.Update(body);
  r = DecodeArtifact(body + h2.FinishRaw(), "kind7");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("kind"));
}

TEST(ArtifactFileTest, WriteAndReadFile) {
  const std::string path = ::testing::TempDir() + "/hakd_artifact_file_test.hakd";
  ArtifactContents c = Sample(ArtifactKind::kCheckpoint);
  ASSERT_TRUE(WriteArtifactFile(path, c).ok());
  std::ifstream tmp(path + ".tmp");
  EXPECT_FALSE(tmp.good()) << "the temporary file is renamed away";
  auto back = ReadArtifactFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSame(*back, c);
  // Overwriting replaces the file.
  ArtifactContents m = Sample(ArtifactKind::kModel);
  m.payload = "other";
  ASSERT_TRUE(WriteArtifactFile(path, m).ok());
  back = ReadArtifactFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSame(*back, m);
  // A damaged file names its path.
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "HAKDART1 but not much else, and no valid checksum at all........";
  }
  back = ReadArtifactFile(path);
  EXPECT_EQ(back.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(back.status().message()), HasSubstr(path));
  std::remove(path.c_str());
  back = ReadArtifactFile(path);
  EXPECT_EQ(back.status().code(), absl::StatusCode::kNotFound);
  // An unwritable place.
  EXPECT_FALSE(WriteArtifactFile("/nonexistent-dir/x.hakd", c).ok());
}

TEST(Sha256Test, KnownValues) {
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, IncrementalEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 5000; ++i) data.push_back(static_cast<char>(i % 251));
  Sha256 h;
  for (size_t i = 0; i < data.size(); i += 333) h.Update(absl::string_view(data).substr(i, 333));
  EXPECT_EQ(h.FinishHex(), Sha256Hex(data));
  Sha256 raw;
  raw.Update("abc");
  std::string digest = raw.FinishRaw();
  ASSERT_EQ(digest.size(), 32u);
  EXPECT_EQ(static_cast<unsigned char>(digest[0]), 0xba);
  EXPECT_EQ(static_cast<unsigned char>(digest[31]), 0xad);
}

}  // namespace
}  // namespace hakd
