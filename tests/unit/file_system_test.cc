// runtime/fs: path resolution, the exclusive and no-replace operations that
// exactly-once output depends on (raced from many threads), error messages
// that name the path, and a registered scheme that text input goes through.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ember/rdd.h"
#include "graph_only_runner.h"
#include "runtime/fs/file_system.h"
#include "runtime/textio/line_reader.h"
#include "runtime/textio/splits.h"

namespace ember::fs {
namespace {

namespace stdfs = std::filesystem;

class FileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (stdfs::path(::testing::TempDir()) / "ember-fs-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { stdfs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void WriteFile(const std::string& path, const std::string& text) {
    auto f = Local().CreateExclusive(path);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE((*f)->Append(text).ok());
    ASSERT_TRUE((*f)->SyncAndClose().ok());
  }
  std::string dir_;
};

TEST_F(FileSystemTest, ResolvesPlainPathsAndFileUrisToAbsoluteLocalPaths) {
  auto plain = Resolve("a/b/../c/");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->fs, &Local());
  EXPECT_EQ(plain->path, (stdfs::current_path() / "a/c").string());
  EXPECT_EQ(plain->uri, "a/b/../c/");

  auto uri = Resolve("file:///data//x/./y");
  ASSERT_TRUE(uri.ok()) << uri.status().ToString();
  EXPECT_EQ(uri->fs, &Local());
  EXPECT_EQ(uri->path, "/data/x/y");

  // A resolved path resolves to itself: it is what travels to executors.
  auto again = Resolve(uri->path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->path, uri->path);

  // "://" inside a relative file name is not a scheme.
  auto odd = Resolve("./x://y");
  ASSERT_TRUE(odd.ok()) << odd.status().ToString();
  EXPECT_EQ(odd->fs, &Local());
}

TEST_F(FileSystemTest, RejectsPathsItCannotServeWithAMessageNamingThem) {
  auto empty = Resolve("");
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);

  auto host = Resolve("file://otherhost/data");
  EXPECT_EQ(host.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(host.status().message().find("file:///data/x"), std::string::npos)
      << host.status().message();

  auto s3 = Resolve("s3://bucket/key");
  EXPECT_EQ(s3.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s3.status().message().find("no file system for scheme 's3'"), std::string::npos)
      << s3.status().message();
  EXPECT_NE(s3.status().message().find("known: file"), std::string::npos);
}

TEST_F(FileSystemTest, ExactlyOneOfManyRacingCreatorsGetsTheDirectory) {
  constexpr int kThreads = 16;
  for (int round = 0; round < 20; ++round) {
    const std::string target = Path("out-" + std::to_string(round) + "/nested");
    std::atomic<int> won{0}, exists{0}, other{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&] {
        Status st = Local().CreateDirExclusive(target);
        if (st.ok()) {
          ++won;
        } else if (st.code() == StatusCode::kAlreadyExists) {
          ++exists;
        } else {
          ++other;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(won.load(), 1);
    EXPECT_EQ(exists.load(), kThreads - 1);
    EXPECT_EQ(other.load(), 0);
    EXPECT_TRUE(stdfs::is_directory(target));
  }
  Status again = Local().CreateDirExclusive(Path("out-0/nested"));
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(again.message().find(Path("out-0/nested")), std::string::npos);
}

TEST_F(FileSystemTest, RenameNeverReplacesAnExistingFile) {
  WriteFile(Path("committed"), "first copy\n");
  WriteFile(Path("late"), "second copy\n");
  Status st = Local().RenameNoReplace(Path("late"), Path("committed"));
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  EXPECT_EQ(Read(Path("committed")), "first copy\n");
  EXPECT_EQ(Read(Path("late")), "second copy\n");

  ASSERT_TRUE(Local().RenameNoReplace(Path("late"), Path("fresh")).ok());
  EXPECT_EQ(Read(Path("fresh")), "second copy\n");
  EXPECT_FALSE(stdfs::exists(Path("late")));

  // Many attempts renaming onto one part: exactly one lands, whole.
  std::vector<std::string> sources;
  for (int i = 0; i < 16; ++i) {
    sources.push_back(Path("attempt-" + std::to_string(i)));
    WriteFile(sources.back(), "attempt " + std::to_string(i) + "\n");
  }
  std::atomic<int> landed{0};
  std::vector<std::thread> threads;
  for (const auto& src : sources) {
    threads.emplace_back([&, src] {
      if (Local().RenameNoReplace(src, Path("part-00000")).ok()) ++landed;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(landed.load(), 1);
  EXPECT_EQ(Read(Path("part-00000")).rfind("attempt ", 0), 0u);
}

TEST_F(FileSystemTest, UniqueFilesAreUniqueAndExclusiveFilesAreExclusive) {
  std::set<std::string> names;
  for (int i = 0; i < 100; ++i) {
    auto f = Local().CreateUnique(dir_, "part-00001.attempt-7");
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_TRUE(names.insert((*f)->path()).second);
    EXPECT_EQ(stdfs::path((*f)->path()).filename().string().rfind("part-00001.attempt-7.", 0), 0u);
    ASSERT_TRUE((*f)->SyncAndClose().ok());
    struct stat st {};
    ASSERT_EQ(::stat((*f)->path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
  }
  WriteFile(Path("_SUCCESS"), "");
  auto dup = Local().CreateExclusive(Path("_SUCCESS"));
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);

  // A directory that is gone is not recreated by a late writer.
  auto gone = Local().CreateUnique(Path("removed/_temporary"), "part-00000");
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_NE(gone.status().message().find(Path("removed/_temporary")), std::string::npos);
  EXPECT_FALSE(stdfs::exists(Path("removed")));
}

TEST_F(FileSystemTest, ErrorsNameThePath) {
  WriteFile(Path("plain-file"), "x");
  Status st = Local().CreateDirs(Path("plain-file/sub"));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find(Path("plain-file")), std::string::npos) << st.ToString();

  auto missing = Local().OpenForRead(Path("nope"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(Path("nope")), std::string::npos);

  auto stat = Local().Stat(Path("nope"));
  EXPECT_EQ(stat.status().code(), StatusCode::kNotFound);

  EXPECT_EQ(Local().Remove(Path("nope")).code(), StatusCode::kNotFound);

  auto f = Local().CreateExclusive(Path("closed"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->SyncAndClose().ok());
  EXPECT_EQ((*f)->Append("late").code(), StatusCode::kFailedPrecondition);
}

TEST_F(FileSystemTest, RemoveAllRemovesTreesAndDoesNotFollowLinks) {
  stdfs::create_directories(Path("tree/a/b"));
  WriteFile(Path("tree/a/b/f"), "x");
  WriteFile(Path("tree/g"), "y");
  stdfs::create_directories(Path("keep"));
  WriteFile(Path("keep/precious"), "z");
  stdfs::create_directory_symlink(Path("keep"), Path("tree/link"));
  ASSERT_TRUE(Local().RemoveAll(Path("tree")).ok());
  EXPECT_FALSE(stdfs::exists(Path("tree")));
  EXPECT_EQ(Read(Path("keep/precious")), "z");
  EXPECT_TRUE(Local().RemoveAll(Path("tree")).ok()) << "removing nothing is fine";
}

// A file system registered for a scheme, serving a directory of the local
// one and counting what it is asked: text input must go through it.
class CountingFileSystem final : public FileSystem {
 public:
  explicit CountingFileSystem(std::string root) : root_(std::move(root)) {}
  std::string_view scheme() const override { return "counting"; }
  Result<FileInfo> Stat(const std::string& p) override {
    ++calls;
    ASSIGN_OR_RETURN(FileInfo info, Local().Stat(Map(p)));
    info.path = p;
    return info;
  }
  Result<std::vector<FileInfo>> List(const std::string& d) override {
    ++calls;
    ASSIGN_OR_RETURN(std::vector<FileInfo> entries, Local().List(Map(d)));
    for (auto& e : entries) e.path = JoinPath(d, stdfs::path(e.path).filename().string());
    return entries;
  }
  Result<std::vector<std::string>> Glob(const std::string&) override {
    return UnimplementedError("no globs");
  }
  Result<std::unique_ptr<ReadableFile>> OpenForRead(const std::string& p) override {
    ++calls;
    ++opens;
    return Local().OpenForRead(Map(p));
  }
  Status CreateDirExclusive(const std::string& d) override {
    return Local().CreateDirExclusive(Map(d));
  }
  Status CreateDirs(const std::string& d) override { return Local().CreateDirs(Map(d)); }
  Result<std::unique_ptr<WritableFile>> CreateUnique(const std::string& d,
                                                     const std::string& prefix) override {
    return Local().CreateUnique(Map(d), prefix);
  }
  Result<std::unique_ptr<WritableFile>> CreateExclusive(const std::string& p) override {
    return Local().CreateExclusive(Map(p));
  }
  Status RenameNoReplace(const std::string& a, const std::string& b) override {
    return Local().RenameNoReplace(Map(a), Map(b));
  }
  Status Remove(const std::string& p) override { return Local().Remove(Map(p)); }
  Status RemoveAll(const std::string& p) override { return Local().RemoveAll(Map(p)); }
  Status SyncDir(const std::string& d) override { return Local().SyncDir(Map(d)); }

  std::atomic<int> calls{0};
  std::atomic<int> opens{0};

 private:
  std::string Map(const std::string& uri) const {
    return JoinPath(root_, uri.substr(std::string_view("counting://").size()));
  }
  std::string root_;
};

TEST_F(FileSystemTest, TextInputGoesThroughTheSchemesFileSystem) {
  stdfs::create_directories(Path("root/in"));
  WriteFile(Path("root/in/a.txt"), "one\ntwo\n");
  WriteFile(Path("root/in/b.txt"), "three\n");
  WriteFile(Path("root/in/_SUCCESS"), "");
  auto owned = std::make_unique<CountingFileSystem>(Path("root"));
  CountingFileSystem* counting = owned.get();
  ASSERT_TRUE(RegisterFileSystem("counting", std::move(owned)));
  EXPECT_FALSE(RegisterFileSystem("counting", std::make_unique<CountingFileSystem>(dir_)));
  EXPECT_FALSE(RegisterFileSystem("file", std::make_unique<CountingFileSystem>(dir_)));

  auto files = textio::ExpandInputPaths("counting://in");
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ(*files, (std::vector<std::string>{"counting://in/a.txt", "counting://in/b.txt"}));
  auto splits = textio::ComputeSplits(*files, 2);
  ASSERT_TRUE(splits.ok()) << splits.status().ToString();
  std::vector<std::string> lines;
  for (const auto& split : *splits) {
    auto reader = textio::LineReader::Open(split);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    std::string_view line;
    while ((*reader)->Next(&line)) lines.emplace_back(line);
    ASSERT_TRUE((*reader)->status().ok());
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(counting->opens.load(), 2);
  EXPECT_GE(counting->calls.load(), 5);

  // The same through the user's API: textFile's tasks carry the scheme's
  // URIs, which a local absolute() would have turned into /cwd/counting:/...
  testing::GraphOnlyRunner runner;
  Context ctx(&runner);
  RDD<std::string> text = ctx.textFile("counting://in", 2);
  const auto& node = text.node();
  ASSERT_GE(node->num_partitions, 2u);
  std::set<std::string> split_files;
  for (uint32_t p = 0; p < node->num_partitions; ++p) {
    auto split = textio::DecodeSplit(node->payload(p));
    ASSERT_TRUE(split.ok()) << split.status().ToString();
    split_files.insert(split->path);
  }
  EXPECT_EQ(split_files, (std::set<std::string>{"counting://in/a.txt", "counting://in/b.txt"}));

  auto missing = textio::ExpandInputPaths("counting://nothing-here");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("counting://nothing-here"), std::string::npos)
      << missing.status().message();
}

}  // namespace
}  // namespace ember::fs
