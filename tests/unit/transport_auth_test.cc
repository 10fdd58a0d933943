// Pins down where the application secret comes from, how loading it fails,
// and how secrets and status codes cross the transport boundary.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "runtime/transport/auth.h"
#include "runtime/transport/grpc_status.h"

namespace ember::transport {
namespace {

// Clears the secret variables for the test and restores them afterwards.
class EnvGuard {
 public:
  EnvGuard() {
    Save("EMBER_SECRET", &secret_);
    Save("EMBER_SECRET_FILE", &file_);
  }
  ~EnvGuard() {
    Restore("EMBER_SECRET", secret_);
    Restore("EMBER_SECRET_FILE", file_);
  }

 private:
  static void Save(const char* name, std::optional<std::string>* out) {
    if (const char* v = std::getenv(name)) *out = v;
    ::unsetenv(name);
  }
  static void Restore(const char* name, const std::optional<std::string>& v) {
    if (v) {
      ::setenv(name, v->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  std::optional<std::string> secret_, file_;
};

std::string WriteTemp(const std::string& contents) {
  char path[] = "/tmp/ember-secret-XXXXXX";
  int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::write(fd, contents.data(), contents.size()), static_cast<ssize_t>(contents.size()));
  ::close(fd);
  return path;
}

TEST(LoadSecretTest, FlagValueWinsOverEverything) {
  EnvGuard env;
  ::setenv("EMBER_SECRET", "from-env", 1);
  auto s = LoadSecret("from-flag", "/nonexistent");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(*s, "from-flag");
}

TEST(LoadSecretTest, FlagFileStripsTrailingNewline) {
  EnvGuard env;
  const std::string path = WriteTemp("s3cret\n");
  auto s = LoadSecret("", path);
  ::unlink(path.c_str());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(*s, "s3cret");
}

TEST(LoadSecretTest, MissingFlagFileNamesTheFile) {
  EnvGuard env;
  auto s = LoadSecret("", "/nonexistent/secret");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.status().message(), "secret file /nonexistent/secret: No such file or directory");
}

TEST(LoadSecretTest, EmptyFileIsRefused) {
  EnvGuard env;
  const std::string path = WriteTemp("\n");
  auto s = LoadSecret("", path);
  ::unlink(path.c_str());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find(path), std::string::npos);
}

TEST(LoadSecretTest, DirectoryIsNotASecretFile) {
  EnvGuard env;
  auto s = LoadSecret("", "/tmp");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "secret file /tmp: Is a directory");
}

TEST(LoadSecretTest, EnvironmentVariable) {
  EnvGuard env;
  ::setenv("EMBER_SECRET", "env-secret", 1);
  auto s = LoadSecret("", "");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "env-secret");
}

TEST(LoadSecretTest, EnvironmentFile) {
  EnvGuard env;
  const std::string path = WriteTemp("file-secret");
  ::setenv("EMBER_SECRET_FILE", path.c_str(), 1);
  auto s = LoadSecret("", "");
  ::unlink(path.c_str());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "file-secret");
}

TEST(LoadSecretTest, MissingEnvironmentFileNamesTheVariableAndFile) {
  EnvGuard env;
  ::setenv("EMBER_SECRET_FILE", "/nonexistent/env-secret", 1);
  auto s = LoadSecret("", "");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(),
            "$EMBER_SECRET_FILE: secret file /nonexistent/env-secret: No such file or directory");
}

TEST(LoadSecretTest, NoSourceIsAnError) {
  EnvGuard env;
  auto s = LoadSecret("", "");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
}

TEST(GenerateSecretTest, Is64HexCharsAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 16; ++i) {
    std::string s = GenerateSecret();
    EXPECT_EQ(s.size(), 64u);
    EXPECT_EQ(s.find_first_not_of("0123456789abcdef"), std::string::npos) << s;
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 16u);
}

TEST(SecretsEqualTest, ComparesContentAndLength) {
  EXPECT_TRUE(SecretsEqual("abc", "abc"));
  EXPECT_FALSE(SecretsEqual("abc", "abd"));
  EXPECT_FALSE(SecretsEqual("abc", "abcd"));
  EXPECT_FALSE(SecretsEqual("abc", ""));
  EXPECT_TRUE(SecretsEqual("", ""));
}

TEST(GrpcStatusTest, RoundTripsEveryCode) {
  for (int c = 0; c <= static_cast<int>(StatusCode::kUnauthenticated); ++c) {
    const auto code = static_cast<StatusCode>(c);
    const Status in = code == StatusCode::kOk ? Status::Ok() : Status(code, "why");
    const grpc::Status g = ToGrpcStatus(in);
    EXPECT_EQ(static_cast<int>(g.error_code()), c);
    EXPECT_EQ(FromGrpcStatus(g), in) << c;
  }
}

}  // namespace
}  // namespace ember::transport
