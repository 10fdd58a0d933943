#include "operator/kube/config/config.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace ember::kube {
namespace {

constexpr std::string_view kServiceAccountToken = "token";
constexpr std::string_view kServiceAccountCa = "ca.crt";
constexpr std::string_view kServiceAccountNamespace = "namespace";

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

std::string Dirname(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string Resolve(std::string_view base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  return std::string(base_dir) + "/" + path;
}

std::string Trim(std::string text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return {};
  size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

std::string Scalar(const YAML::Node& node, const char* key) {
  if (!node || !node.IsMap()) return {};
  YAML::Node value = node[key];
  if (!value || !value.IsScalar()) return {};
  return value.as<std::string>();
}

bool Bool(const YAML::Node& node, const char* key) {
  if (!node || !node.IsMap()) return false;
  YAML::Node value = node[key];
  if (!value || !value.IsScalar()) return false;
  return value.as<std::string>() == "true";
}

// Finds the entry `name` in a list like clusters: [{name: x, cluster: {...}}]
// and returns its `field` map.
YAML::Node Named(const YAML::Node& list, std::string_view name, const char* field) {
  if (!list || !list.IsSequence()) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& entry : list) {
    if (entry.IsMap() && Scalar(entry, "name") == name) return entry[field];
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

// Inline "<x>-data" wins over the file "<x>", as in client-go.
Result<std::string> DataOrFile(const YAML::Node& node, const char* data_key, const char* file_key,
                               std::string_view base_dir) {
  std::string data = Scalar(node, data_key);
  if (!data.empty()) {
    Result<std::string> decoded = Base64Decode(data);
    if (!decoded.ok()) return decoded.status().WithContext(data_key);
    return decoded;
  }
  std::string file = Scalar(node, file_key);
  if (file.empty()) return std::string();
  Result<std::string> contents = ReadFileToString(Resolve(base_dir, file));
  if (!contents.ok()) return contents.status().WithContext(file_key);
  return contents;
}

struct Document {
  YAML::Node root;
  std::string base_dir;
};

// The merged view of one or more kubeconfig files: for each name, the first
// file that defines it.
struct Merged {
  std::string current_context;
  std::vector<Document> docs;

  YAML::Node Find(const char* list, std::string_view name, const char* field,
                  std::string* base_dir) const {
    for (const auto& doc : docs) {
      YAML::Node found = Named(doc.root[list], name, field);
      if (found) {
        *base_dir = doc.base_dir;
        return found;
      }
    }
    return YAML::Node(YAML::NodeType::Undefined);
  }
};

Result<ClientConfig> Resolve(const Merged& merged, std::string_view context_name) {
  std::string name(context_name.empty() ? std::string_view(merged.current_context) : context_name);
  if (name.empty()) return FailedPreconditionError("kubeconfig has no current-context");
  std::string ctx_dir, cluster_dir, user_dir;
  YAML::Node context = merged.Find("contexts", name, "context", &ctx_dir);
  if (!context || !context.IsMap()) {
    return NotFoundError("context \"" + name + "\" not found in kubeconfig");
  }
  std::string cluster_name = Scalar(context, "cluster");
  std::string user_name = Scalar(context, "user");
  YAML::Node cluster = merged.Find("clusters", cluster_name, "cluster", &cluster_dir);
  if (!cluster || !cluster.IsMap()) {
    return NotFoundError("cluster \"" + cluster_name + "\" of context \"" + name +
                         "\" not found in kubeconfig");
  }
  ClientConfig config;
  config.server = Scalar(cluster, "server");
  if (config.server.empty())
    return InvalidArgumentError("cluster \"" + cluster_name + "\" has no server");
  while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
  config.insecure_skip_tls_verify = Bool(cluster, "insecure-skip-tls-verify");
  ASSIGN_OR_RETURN(config.ca_pem, DataOrFile(cluster, "certificate-authority-data",
                                             "certificate-authority", cluster_dir));
  std::string ns = Scalar(context, "namespace");
  if (!ns.empty()) config.default_namespace = ns;

  if (user_name.empty()) return config;
  YAML::Node user = merged.Find("users", user_name, "user", &user_dir);
  if (!user) {
    return NotFoundError("user \"" + user_name + "\" of context \"" + name +
                         "\" not found in kubeconfig");
  }
  if (!user.IsMap()) return config;
  if (user["exec"] || user["auth-provider"]) {
    return UnimplementedError("user \"" + user_name +
                              "\" uses an exec or auth-provider plugin, which Ember does not run");
  }
  ASSIGN_OR_RETURN(config.client_cert_pem,
                   DataOrFile(user, "client-certificate-data", "client-certificate", user_dir));
  ASSIGN_OR_RETURN(config.client_key_pem,
                   DataOrFile(user, "client-key-data", "client-key", user_dir));
  if (config.client_cert_pem.empty() != config.client_key_pem.empty()) {
    return InvalidArgumentError("user \"" + user_name +
                                "\" has a client certificate without a key or a key without one");
  }
  config.bearer_token = Scalar(user, "token");
  std::string token_file = Scalar(user, "tokenFile");
  if (!token_file.empty()) config.token_file = Resolve(user_dir, token_file);
  return config;
}

Status AddDocument(Merged* merged, std::string_view text, std::string base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(std::string("kubeconfig is not valid YAML: ") + e.what());
  }
  if (root.IsNull()) return Status::Ok();
  if (!root.IsMap()) return InvalidArgumentError("kubeconfig is not a YAML map");
  if (merged->current_context.empty()) merged->current_context = Scalar(root, "current-context");
  merged->docs.push_back(Document{root, std::move(base_dir)});
  return Status::Ok();
}

std::vector<std::string> SplitPaths(const std::string& list) {
  std::vector<std::string> paths;
  std::stringstream stream(list);
  std::string item;
  while (std::getline(stream, item, ':')) {
    if (!item.empty()) paths.push_back(item);
  }
  return paths;
}

}  // namespace

Result<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoError("reading " + path, errno);
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return ErrnoError("reading " + path, errno);
  return out.str();
}

Result<std::string> Base64Decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned int buffer = 0;
  int bits = 0;
  bool padding = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    int v = value(c);
    if (v < 0 || padding) return InvalidArgumentError("invalid base64 data");
    buffer = (buffer << 6) | static_cast<unsigned int>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  // A lone 6-bit group cannot encode a byte.
  if (bits >= 6) return InvalidArgumentError("truncated base64 data");
  return out;
}

Result<ClientConfig> ParseKubeconfig(std::string_view yaml_text, std::string_view base_dir,
                                     std::string_view context) {
  Merged merged;
  RETURN_IF_ERROR(AddDocument(&merged, yaml_text, std::string(base_dir)));
  return Resolve(merged, context);
}

Result<ClientConfig> LoadKubeconfig(const KubeconfigOptions& options) {
  std::vector<std::string> paths;
  if (!options.path.empty()) {
    paths.push_back(options.path);
  } else if (std::string env = Env("KUBECONFIG"); !env.empty()) {
    paths = SplitPaths(env);
  } else if (std::string home = Env("HOME"); !home.empty()) {
    paths.push_back(home + "/.kube/config");
  }
  if (paths.empty()) return FailedPreconditionError("no kubeconfig: KUBECONFIG and HOME unset");
  Merged merged;
  for (const auto& path : paths) {
    Result<std::string> text = ReadFileToString(path);
    // kubectl skips missing files in a KUBECONFIG list, but an explicitly
    // named single file must exist.
    if (!text.ok()) {
      if (paths.size() > 1 && text.status().code() == StatusCode::kNotFound) continue;
      return text.status().WithContext("loading kubeconfig");
    }
    RETURN_IF_ERROR_CTX(AddDocument(&merged, *text, Dirname(path)), path);
  }
  if (merged.docs.empty()) return NotFoundError("none of the kubeconfig files exist");
  return Resolve(merged, options.context);
}

Result<ClientConfig> LoadInClusterConfig(const InClusterOptions& options) {
  std::string host = options.host.empty() ? Env("KUBERNETES_SERVICE_HOST") : options.host;
  std::string port = options.port.empty() ? Env("KUBERNETES_SERVICE_PORT") : options.port;
  if (host.empty() || port.empty()) {
    return FailedPreconditionError(
        "not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  }
  ClientConfig config;
  // An IPv6 service address needs brackets in a URL.
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  config.server = "https://" + host + ":" + port;
  const std::string root = options.root;
  config.token_file = root + "/" + std::string(kServiceAccountToken);
  // Read once now so that a missing mount fails at start-up, not on the
  // first request.
  Result<std::string> token = ReadFileToString(config.token_file);
  if (!token.ok()) return token.status().WithContext("in-cluster service account token");
  ASSIGN_OR_RETURN(config.ca_pem, ReadFileToString(root + "/" + std::string(kServiceAccountCa)));
  Result<std::string> ns = ReadFileToString(root + "/" + std::string(kServiceAccountNamespace));
  if (ns.ok() && !Trim(*ns).empty()) config.default_namespace = Trim(*ns);
  return config;
}

Result<ClientConfig> LoadDefaultConfig(std::string_view kubeconfig_path) {
  if (!kubeconfig_path.empty()) {
    return LoadKubeconfig(KubeconfigOptions{std::string(kubeconfig_path), {}});
  }
  if (!Env("KUBECONFIG").empty()) return LoadKubeconfig();
  if (!Env("KUBERNETES_SERVICE_HOST").empty()) return LoadInClusterConfig();
  return LoadKubeconfig();
}

}  // namespace ember::kube
