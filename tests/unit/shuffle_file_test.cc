// Shuffle files: write/commit/read round trips (empty reducers included),
// block reassembly across every chunk size, detection of corruption and
// truncation, atomic commit, and the ShuffleStore layout.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/shuffle/crc32c.h"
#include "runtime/shuffle/shuffle_file.h"
#include "runtime/shuffle/shuffle_store.h"

namespace ember::shuffle {
namespace {

namespace fs = std::filesystem;

class ShuffleFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::path(::testing::TempDir()) / "ember-shuffle-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string dir_;
};

using Blocks = std::map<uint32_t, std::vector<std::string>>;  // reducer -> payloads

std::string Payload(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

Result<std::vector<uint64_t>> WriteFile(const std::string& path, uint32_t reducers,
                                        const Blocks& blocks) {
  ASSIGN_OR_RETURN(auto writer, ShuffleFileWriter::Create(path, reducers));
  for (const auto& [r, payloads] : blocks) {
    for (const std::string& p : payloads) RETURN_IF_ERROR(writer->AppendBlock(r, p));
  }
  return writer->Commit();
}

// Reads one segment through ReadSegment + BlockParser.
Result<std::vector<std::string>> ReadBlocks(const std::string& path, uint32_t reducer,
                                            size_t chunk) {
  std::vector<std::string> out;
  BlockParser parser;
  RETURN_IF_ERROR(ReadSegment(path, reducer, chunk, [&](std::string_view bytes) {
    if (chunk != 0) {
      EXPECT_LE(bytes.size(), chunk);
    }
    return parser.Feed(bytes, [&](std::string_view payload) {
      out.emplace_back(payload);
      return Status();
    });
  }));
  RETURN_IF_ERROR(parser.Finish());
  return out;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteWholeFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

TEST(Crc32cTest, KnownVectors) {
  struct Case {
    std::string name;
    std::string data;
    uint32_t crc;
  };
  std::string ascending(32, '\0');
  for (size_t i = 0; i < ascending.size(); ++i) ascending[i] = static_cast<char>(i);
  const std::vector<Case> cases = {
      {"empty", "", 0x00000000u},
      {"check string", "123456789", 0xE3069283u},
      {"32 zeros", std::string(32, '\0'), 0x8A9136AAu},
      {"32 0xff", std::string(32, '\xff'), 0x62A8AB43u},
      {"ascending", ascending, 0x46DD794Eu},
  };
  for (const Case& c : cases) EXPECT_EQ(Crc32c(c.data), c.crc) << c.name;
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  const std::string data = Payload(1000, 3);
  for (size_t cut : {0u, 1u, 7u, 8u, 9u, 500u, 1000u}) {
    const uint32_t first = Crc32c(std::string_view(data).substr(0, cut));
    EXPECT_EQ(Crc32cExtend(first, data.data() + cut, data.size() - cut), Crc32c(data)) << cut;
  }
}

TEST_F(ShuffleFileTest, RoundTripWithEmptyReducers) {
  const std::string path = dir_ + "/map-0.data";
  const Blocks blocks = {
      {0, {"alpha", "", Payload(3000, 1)}},
      // reducers 1 and 2 get nothing
      {3, {Payload(1 << 20, 2)}},  // bigger than the write buffer: written directly
      {4, {"x"}},
      // 5 and 6 (the last) get nothing
  };
  constexpr uint32_t kReducers = 7;
  auto sizes = WriteFile(path, kReducers, blocks);
  ASSERT_TRUE(sizes.ok()) << sizes.status().ToString();
  ASSERT_EQ(sizes->size(), kReducers);
  for (uint32_t r = 0; r < kReducers; ++r) {
    uint64_t expected_bytes = 0;
    auto it = blocks.find(r);
    if (it != blocks.end()) {
      for (const std::string& p : it->second) expected_bytes += kBlockHeaderBytes + p.size();
    }
    EXPECT_EQ((*sizes)[r], expected_bytes) << "reducer " << r;
    for (size_t chunk : {size_t{0}, size_t{1}, size_t{7}, size_t{4096}, size_t{1} << 22}) {
      if (chunk == 1 && expected_bytes > 100000) continue;  // too slow byte by byte
      auto got = ReadBlocks(path, r, chunk);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(*got, it == blocks.end() ? std::vector<std::string>{} : it->second)
          << "reducer " << r << " chunk " << chunk;
    }
  }
  EXPECT_EQ(ReadSegment(path, kReducers, 0, [](std::string_view) { return Status(); }).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ShuffleFileTest, BlockParserHandlesEveryChunkSize) {
  std::vector<std::string> payloads = {
      "", "a", Payload(7, 1), Payload(8, 2), "", Payload(100, 3), Payload(9, 4)};
  std::string stream;
  {
    const std::string path = dir_ + "/p.data";
    ASSERT_TRUE(WriteFile(path, 1, {{0, payloads}}).ok());
    ASSERT_TRUE(ReadSegment(path, 0, 0, [&](std::string_view b) {
                  stream.append(b);
                  return Status();
                }).ok());
  }
  for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    BlockParser parser;
    std::vector<std::string> got;
    for (size_t off = 0; off < stream.size(); off += chunk) {
      ASSERT_TRUE(parser
                      .Feed(std::string_view(stream).substr(off, chunk),
                            [&](std::string_view p) {
                              got.emplace_back(p);
                              return Status();
                            })
                      .ok());
    }
    ASSERT_TRUE(parser.Finish().ok()) << chunk;
    EXPECT_EQ(got, payloads) << "chunk " << chunk;
    EXPECT_EQ(parser.blocks(), payloads.size());
  }
}

TEST_F(ShuffleFileTest, BlockParserErrors) {
  const std::string ok_block = [] {
    std::string b(kBlockHeaderBytes, '\0');
    const std::string payload = "payload";
    const uint32_t len = static_cast<uint32_t>(payload.size());
    const uint32_t crc = Crc32c(payload);
    std::memcpy(b.data(), &len, 4);
    std::memcpy(b.data() + 4, &crc, 4);
    return b + payload;
  }();
  auto ignore = [](std::string_view) { return Status(); };
  struct Case {
    std::string name;
    std::string stream;
    std::string feed_error;    // empty: Feed succeeds
    std::string finish_error;  // checked only when Feed succeeded
  };
  std::string flipped = ok_block;
  flipped.back() ^= 1;
  std::string oversized = ok_block;
  const uint32_t too_big = kMaxBlockPayloadBytes + 1;
  std::memcpy(oversized.data(), &too_big, 4);
  const std::vector<Case> cases = {
      {"checksum", flipped, "shuffle block checksum mismatch", ""},
      {"oversized length", oversized, "exceeds the 67108864 byte limit", ""},
      {"partial header", ok_block.substr(0, 5), "", "shuffle segment truncated"},
      {"partial payload", ok_block + ok_block.substr(0, 10), "", "shuffle segment truncated"},
  };
  for (const Case& c : cases) {
    BlockParser parser;
    const Status fed = parser.Feed(c.stream, ignore);
    if (!c.feed_error.empty()) {
      EXPECT_EQ(fed.code(), StatusCode::kDataLoss) << c.name;
      EXPECT_NE(fed.message().find(c.feed_error), std::string::npos)
          << c.name << ": " << fed.message();
      EXPECT_EQ(parser.Feed(ok_block, ignore).code(), StatusCode::kDataLoss)
          << "sticky: " << c.name;
      continue;
    }
    ASSERT_TRUE(fed.ok()) << c.name;
    const Status fin = parser.Finish();
    EXPECT_EQ(fin.code(), StatusCode::kDataLoss) << c.name;
    EXPECT_NE(fin.message().find(c.finish_error), std::string::npos)
        << c.name << ": " << fin.message();
  }
}

TEST_F(ShuffleFileTest, SinkErrorsPropagateUnchanged) {
  const std::string path = dir_ + "/m.data";
  ASSERT_TRUE(WriteFile(path, 1, {{0, {"a", "b"}}}).ok());
  const Status s = ReadSegment(path, 0, 1, [](std::string_view) { return CancelledError("stop"); });
  EXPECT_EQ(s, CancelledError("stop"));
  BlockParser parser;
  const std::string segment = ReadWholeFile(path).substr(0, 2 * kBlockHeaderBytes + 2);
  EXPECT_EQ(parser.Feed(segment, [](std::string_view) { return AbortedError("full"); }),
            AbortedError("full"));
}

TEST_F(ShuffleFileTest, CorruptionIsDetected) {
  const std::string path = dir_ + "/c.data";
  const Blocks blocks = {{0, {"first block"}}, {1, {Payload(500, 9)}}};
  ASSERT_TRUE(WriteFile(path, 2, blocks).ok());
  const std::string good = ReadWholeFile(path);
  const size_t file_size = good.size();
  const size_t index_offset = file_size - kFooterBytes - 3 * 8;

  struct Case {
    std::string name;
    std::function<std::string(std::string)> corrupt;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"flipped payload byte",
       [](std::string f) {
         f[kBlockHeaderBytes + 2] ^= 0x40;
         return f;
       },
       "shuffle block checksum mismatch"},
      {"flipped crc byte",
       [](std::string f) {
         f[5] ^= 0x01;
         return f;
       },
       "shuffle block checksum mismatch"},
      {"truncated file", [](std::string f) { return f.substr(0, f.size() - 10); }, "bad magic"},
      {"truncated to nothing", [](std::string) { return std::string(); },
       "smaller than the footer"},
      {"bad magic",
       [](std::string f) {
         f[f.size() - 1] ^= 0x01;
         return f;
       },
       "bad magic"},
      {"corrupt index",
       [&](std::string f) {
         f[index_offset + 8] ^= 0x01;
         return f;
       },
       "index checksum mismatch"},
      {"wrong reducer count",
       [](std::string f) {
         f[f.size() - 16] = 5;
         return f;
       },
       "does not fit a file"},
      {"data cut but footer kept",
       [&](std::string f) { return f.substr(0, 4) + f.substr(index_offset); },
       "does not fit a file"},
  };
  for (const Case& c : cases) {
    WriteWholeFile(path, c.corrupt(good));
    Status first_error;
    for (uint32_t r = 0; r < 2 && first_error.ok(); ++r)
      first_error = ReadBlocks(path, r, 64).status();
    EXPECT_EQ(first_error.code(), StatusCode::kDataLoss)
        << c.name << ": " << first_error.ToString();
    EXPECT_NE(first_error.message().find(c.message), std::string::npos)
        << c.name << ": " << first_error.message();
    if (c.message != "shuffle block checksum mismatch") {
      EXPECT_NE(first_error.message().find(path), std::string::npos) << c.name;
    }
  }
}

TEST_F(ShuffleFileTest, UncommittedWriterLeavesNoFile) {
  const std::string path = dir_ + "/u.data";
  {
    auto writer = ShuffleFileWriter::Create(path, 3);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->AppendBlock(1, "data").ok());
    EXPECT_TRUE(fs::exists((*writer)->temp_path()));
    EXPECT_FALSE(fs::exists(path));
  }
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(ShuffleFileTest, CommitReplacesAtomicallyAndWriterRulesAreEnforced) {
  const std::string path = dir_ + "/r.data";
  ASSERT_TRUE(WriteFile(path, 2, {{0, {"old"}}}).ok());
  auto writer = ShuffleFileWriter::Create(path, 2);
  ASSERT_TRUE(writer.ok());
  ShuffleFileWriter& w = **writer;
  ASSERT_TRUE(w.AppendBlock(1, "new").ok());
  EXPECT_EQ(w.AppendBlock(0, "late").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(w.AppendBlock(2, "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(w.AppendBlock(1, std::string(kMaxBlockPayloadBytes + 1, 'z')).code(),
            StatusCode::kInvalidArgument);
  // Until Commit, readers still see the old file.
  EXPECT_EQ(*ReadBlocks(path, 0, 0), std::vector<std::string>{"old"});
  ASSERT_TRUE(w.Commit().ok());
  EXPECT_EQ(w.AppendBlock(1, "x").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.Commit().status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(*ReadBlocks(path, 0, 0), std::vector<std::string>{});
  EXPECT_EQ(*ReadBlocks(path, 1, 0), std::vector<std::string>{"new"});
  EXPECT_EQ(ShuffleFileWriter::Create(path, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(ShuffleFileTest, ReadMissingFileIsNotFound) {
  const Status s =
      ReadSegment(dir_ + "/missing.data", 0, 0, [](std::string_view) { return Status(); });
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("missing.data"), std::string::npos);
}

TEST_F(ShuffleFileTest, StoreLayoutAndReads) {
  ShuffleStore store(dir_ + "/store");
  EXPECT_EQ(store.MapOutputPath(3, 7), dir_ + "/store/shuffle-3/map-7.data");
  ASSERT_TRUE(store.Prepare(3).ok());
  ASSERT_TRUE(store.Prepare(3).ok());
  ASSERT_TRUE(WriteFile(store.MapOutputPath(3, 7), 2, {{1, {"to reducer 1"}}}).ok());

  std::string bytes;
  ASSERT_TRUE(store
                  .ReadSegment(3, 7, 1, 0,
                               [&](std::string_view b) {
                                 bytes.append(b);
                                 return Status();
                               })
                  .ok());
  EXPECT_EQ(bytes.size(), kBlockHeaderBytes + std::string("to reducer 1").size());

  // What the shuffle server reads: the same bytes, from any offset.
  transport::ShuffleSource& source = store;
  auto segment = source.OpenSegment(3, 7, 1);
  ASSERT_TRUE(segment.ok()) << segment.status().ToString();
  EXPECT_EQ((*segment)->size(), bytes.size());
  EXPECT_NE((*segment)->version(), 0u);
  std::string tail;
  ASSERT_TRUE((*segment)->Read(5, 1 << 20, &tail).ok());
  EXPECT_EQ(tail, bytes.substr(5));
  EXPECT_EQ((*segment)->Read(bytes.size() + 1, 1, &tail).code(), StatusCode::kOutOfRange);

  // A re-run map task commits a new file: a new version.
  ASSERT_TRUE(WriteFile(store.MapOutputPath(3, 7), 2, {{1, {"to reducer 1"}}}).ok());
  auto rewritten = source.OpenSegment(3, 7, 1);
  ASSERT_TRUE(rewritten.ok());
  EXPECT_NE((*rewritten)->version(), (*segment)->version());

  EXPECT_EQ(source.OpenSegment(3, 8, 0).status(),
            NotFoundError("no shuffle output for shuffle 3 map 8"));
  EXPECT_EQ(source.OpenSegment(4, 0, 0).status(),
            NotFoundError("no shuffle output for shuffle 4 map 0"));

  store.RemoveShuffle(3);
  EXPECT_FALSE(fs::exists(dir_ + "/store/shuffle-3"));
  ASSERT_TRUE(store.Prepare(5).ok());
  store.RemoveAll();
  EXPECT_FALSE(fs::exists(dir_ + "/store"));
}

}  // namespace
}  // namespace ember::shuffle
