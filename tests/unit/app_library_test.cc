// runtime/app: loading an application library from one checked descriptor,
// refusing links and wrong checksums as an executor's download must.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "runtime/app/app_library.h"

namespace ember {
namespace {

namespace fs = std::filesystem;

class AppLibraryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::path(::testing::TempDir()) / "ember-app-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    copy_ = dir_ + "/app.so";
    fs::copy_file(EMBER_OPS_APP, copy_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_, copy_;
};

TEST_F(AppLibraryTest, ADownloadedLibraryIsNeverLoadedThroughALink) {
  fs::create_symlink(copy_, dir_ + "/link.so");
  LoadOptions download;
  download.follow_links = false;
  auto app = AppLibrary::Load(dir_ + "/link.so", "", download);
  ASSERT_FALSE(app.ok());
  EXPECT_EQ(app.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(app.status().message().find(dir_ + "/link.so is a symbolic link"), std::string::npos)
      << app.status().message();
}

TEST_F(AppLibraryTest, TheBytesLoadedMustBeTheBytesExpected) {
  auto sha = Sha256File(copy_);
  ASSERT_TRUE(sha.ok()) << sha.status().ToString();
  LoadOptions wrong;
  wrong.follow_links = false;
  wrong.expected_sha256 = std::string(64, '0');
  auto refused = AppLibrary::Load(copy_, "", wrong);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(refused.status().message().find(*sha), std::string::npos) << refused.status().message();

  LoadOptions right = wrong;
  right.expected_sha256 = *sha;
  auto app = AppLibrary::Load(copy_, "", right);
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  EXPECT_EQ((*app)->sha256(), *sha);
  EXPECT_EQ((*app)->path(), copy_);
  EXPECT_NE((*app)->entry(), nullptr);
}

TEST_F(AppLibraryTest, ErrorsNameThePathTheUserGave) {
  const std::string garbage = dir_ + "/garbage.so";
  ASSERT_TRUE(fs::copy_file("/etc/hostname", garbage));
  auto app = AppLibrary::Load(garbage);
  ASSERT_FALSE(app.ok());
  EXPECT_NE(app.status().message().find("cannot load application " + garbage + ": " + garbage),
            std::string::npos)
      << app.status().message();
  EXPECT_EQ(app.status().message().find("/proc/self/fd"), std::string::npos)
      << app.status().message();
}

}  // namespace
}  // namespace ember
