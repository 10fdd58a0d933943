// Kubeconfig and in-cluster configuration loading, and token rotation.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "operator/kube/config/config.h"
#include "operator/kube/config/yaml_json.h"
#include "operator/kube/config/token_source.h"

namespace ember::kube {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "ember-kubeconfig-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& contents) const {
    std::string file = path_ + "/" + name;
    std::ofstream(file) << contents;
    return file;
  }

 private:
  std::string path_;
};

// Restores an environment variable when the test ends.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// base64 of "CA-PEM", "CERT-PEM", "KEY-PEM".
constexpr const char* kCaB64 = "Q0EtUEVN";
constexpr const char* kCertB64 = "Q0VSVC1QRU0=";
constexpr const char* kKeyB64 = "S0VZLVBFTQ==";

const std::string kTwoContexts = R"(
apiVersion: v1
kind: Config
current-context: files
clusters:
- name: by-file
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority: pki/ca.crt
- name: inline
  cluster:
    server: https://10.0.0.1:443
    certificate-authority-data: Q0EtUEVN
- name: insecure
  cluster:
    server: https://example.invalid
    insecure-skip-tls-verify: true
users:
- name: file-user
  user:
    client-certificate: pki/admin.crt
    client-key: /ABS/pki/admin.key
- name: inline-user
  user:
    client-certificate-data: Q0VSVC1QRU0=
    client-key-data: S0VZLVBFTQ==
- name: token-user
  user:
    token: s3cr3t
- name: token-file-user
  user:
    tokenFile: token
- name: exec-user
  user:
    exec:
      command: aws
contexts:
- name: files
  context: {cluster: by-file, user: file-user, namespace: team-a}
- name: inline
  context: {cluster: inline, user: inline-user}
- name: token
  context: {cluster: insecure, user: token-user}
- name: token-file
  context: {cluster: insecure, user: token-file-user}
- name: exec
  context: {cluster: insecure, user: exec-user}
- name: dangling
  context: {cluster: nowhere, user: token-user}
)";

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_.path() + "/pki");
    dir_.Write("pki/ca.crt", "CA-FROM-FILE");
    dir_.Write("pki/admin.crt", "CERT-FROM-FILE");
    dir_.Write("pki/admin.key", "KEY-FROM-FILE");
    text_ = kTwoContexts;
    text_.replace(text_.find("/ABS"), 4, dir_.path());
  }
  TempDir dir_;
  std::string text_;
};

TEST_F(KubeconfigTest, CurrentContextWithFilesRelativeToTheKubeconfig) {
  Result<ClientConfig> config = ParseKubeconfig(text_, dir_.path());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server, "https://127.0.0.1:6443");  // trailing slash dropped
  EXPECT_EQ(config->ca_pem, "CA-FROM-FILE");
  EXPECT_EQ(config->client_cert_pem, "CERT-FROM-FILE");
  EXPECT_EQ(config->client_key_pem, "KEY-FROM-FILE");
  EXPECT_EQ(config->default_namespace, "team-a");
  EXPECT_FALSE(config->insecure_skip_tls_verify);
}

TEST_F(KubeconfigTest, NamedContextWithInlineData) {
  Result<ClientConfig> config = ParseKubeconfig(text_, dir_.path(), "inline");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server, "https://10.0.0.1:443");
  EXPECT_EQ(config->ca_pem, "CA-PEM");
  EXPECT_EQ(config->client_cert_pem, "CERT-PEM");
  EXPECT_EQ(config->client_key_pem, "KEY-PEM");
  EXPECT_EQ(config->default_namespace, "default");
}

TEST_F(KubeconfigTest, TokensAndInsecureSkipVerify) {
  Result<ClientConfig> token = ParseKubeconfig(text_, dir_.path(), "token");
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->bearer_token, "s3cr3t");
  EXPECT_TRUE(token->insecure_skip_tls_verify);
  EXPECT_TRUE(token->ca_pem.empty());
  Result<ClientConfig> file = ParseKubeconfig(text_, dir_.path(), "token-file");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->token_file, dir_.path() + "/token");
}

TEST_F(KubeconfigTest, Errors) {
  EXPECT_EQ(ParseKubeconfig(text_, dir_.path(), "missing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ParseKubeconfig(text_, dir_.path(), "dangling").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ParseKubeconfig(text_, dir_.path(), "exec").status().code(),
            StatusCode::kUnimplemented);
  EXPECT_EQ(ParseKubeconfig("clusters: [", dir_.path()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseKubeconfig("kind: Config\n", dir_.path()).status().code(),
            StatusCode::kFailedPrecondition);
  fs::remove(dir_.path() + "/pki/ca.crt");
  EXPECT_EQ(ParseKubeconfig(text_, dir_.path()).status().code(), StatusCode::kNotFound);
}

TEST_F(KubeconfigTest, KubeconfigEnvironmentVariableListsFilesFirstWins) {
  std::string first = dir_.Write("first.yaml", R"(
current-context: mine
contexts:
- name: mine
  context: {cluster: c, user: u, namespace: from-first}
clusters:
- name: c
  cluster: {server: "https://first:1", certificate-authority-data: Q0EtUEVN}
)");
  std::string second = dir_.Write("second.yaml", R"(
current-context: other
clusters:
- name: c
  cluster: {server: "https://second:2"}
users:
- name: u
  user: {token: from-second}
)");
  ScopedEnv env("KUBECONFIG", first + ":" + dir_.path() + "/absent.yaml:" + second);
  Result<ClientConfig> config = LoadKubeconfig();
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server, "https://first:1");
  EXPECT_EQ(config->bearer_token, "from-second");
  EXPECT_EQ(config->default_namespace, "from-first");
  // An explicit path beats the environment variable.
  std::string own = dir_.Write("own.yaml", text_);
  Result<ClientConfig> explicit_path = LoadKubeconfig(KubeconfigOptions{own, "token"});
  ASSERT_TRUE(explicit_path.ok()) << explicit_path.status().ToString();
  EXPECT_EQ(explicit_path->bearer_token, "s3cr3t");
}

TEST(InClusterConfigTest, ReadsTheServiceAccountDirectoryAndEnvironment) {
  TempDir dir;
  dir.Write("token", "tok-1\n");
  dir.Write("ca.crt", "CLUSTER-CA");
  dir.Write("namespace", "spark-jobs\n");
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  Result<ClientConfig> config = LoadInClusterConfig(InClusterOptions{dir.path(), "", ""});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->ca_pem, "CLUSTER-CA");
  EXPECT_EQ(config->token_file, dir.path() + "/token");
  EXPECT_EQ(config->default_namespace, "spark-jobs");
  Result<ClientConfig> v6 = LoadInClusterConfig(InClusterOptions{dir.path(), "fd00::1", "6443"});
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->server, "https://[fd00::1]:6443");
}

TEST(InClusterConfigTest, OutsideAClusterIsAFailedPrecondition) {
  TempDir dir;
  EXPECT_EQ(LoadInClusterConfig(InClusterOptions{dir.path(), "", "443"}).status().code(),
            StatusCode::kFailedPrecondition);
  // Host set but no token mounted.
  EXPECT_EQ(LoadInClusterConfig(InClusterOptions{dir.path(), "h", "443"}).status().code(),
            StatusCode::kNotFound);
}

TEST(TokenSourceTest, RereadsTheFileWhenItChanges) {
  TempDir dir;
  std::string file = dir.Write("token", "first\n");
  TokenSource tokens("ignored-static", file);
  ASSERT_TRUE(tokens.Token().ok());
  EXPECT_EQ(*tokens.Token(), "first");
  // A different size is a change even within one mtime tick.
  dir.Write("token", "second-token\n");
  EXPECT_EQ(*tokens.Token(), "second-token");
  // Same size, same mtime possible: Invalidate() forces the re-read.
  dir.Write("token", "third--token\n");
  tokens.Invalidate();
  EXPECT_EQ(*tokens.Token(), "third--token");
  // A file that vanishes keeps the last good token.
  fs::remove(file);
  EXPECT_EQ(*tokens.Token(), "third--token");
}

TEST(TokenSourceTest, StaticTokenWithoutFile) {
  TokenSource tokens("static", "");
  EXPECT_EQ(*tokens.Token(), "static");
  TokenSource missing("", "/nonexistent/token");
  EXPECT_FALSE(missing.Token().ok());
}

TEST(Base64Test, DecodesWithAndWithoutPaddingAndRejectsGarbage) {
  EXPECT_EQ(*Base64Decode("aGVsbG8="), "hello");
  EXPECT_EQ(*Base64Decode("aGVsbG8"), "hello");
  EXPECT_EQ(*Base64Decode("aGVs\nbG8=\n"), "hello");
  EXPECT_EQ(*Base64Decode(""), "");
  EXPECT_FALSE(Base64Decode("aGV$bG8=").ok());
  EXPECT_FALSE(Base64Decode("a").ok());
  EXPECT_FALSE(Base64Decode("aG=Vs").ok());
}

}  // namespace
}  // namespace ember::kube

namespace ember::kube {
namespace {

TEST(YamlToJsonTest, CoreSchemaScalars) {
  auto docs = YamlToJson(R"(
a: 1
b: "1"
c: true
d: 'false'
e: ~
f: 2.5
g: 512m
h: [x, 2]
i: {nested: yes}
---
second: doc
)");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 2u);
  const nlohmann::json& d = (*docs)[0];
  EXPECT_EQ(d["a"], 1);
  EXPECT_EQ(d["b"], "1");
  EXPECT_EQ(d["c"], true);
  EXPECT_EQ(d["d"], "false");
  EXPECT_TRUE(d["e"].is_null());
  EXPECT_EQ(d["f"], 2.5);
  EXPECT_EQ(d["g"], "512m");
  EXPECT_EQ(d["h"], nlohmann::json::array({"x", 2}));
  EXPECT_EQ(d["i"]["nested"], true) << "YAML 1.1, as kubectl reads it";
  EXPECT_EQ((*docs)[1]["second"], "doc");
}

TEST(YamlToJsonTest, MalformedYamlNamesTheLine) {
  auto docs = YamlToJson("a: [1, 2\nb: 3\n");
  ASSERT_FALSE(docs.ok());
  EXPECT_NE(docs.status().message().find("line"), std::string::npos) << docs.status().message();
}

}  // namespace
}  // namespace ember::kube
