#include "runtime/transport/auth.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace ember::transport {
namespace {

constexpr size_t kSecretBytes = 32;

Result<std::string> ReadSecretFile(std::string_view path) {
  const std::string name = "secret file " + std::string(path);
  const int fd = ::open(std::string(path).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(name, errno);
  std::string secret;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoError(name, err);
    }
    if (n == 0) break;
    secret.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  // Files written by `echo` or Kubernetes tooling often end in a newline that
  // is not part of the secret.
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) return InvalidArgumentError(name + " is empty");
  return secret;
}

std::string Sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), len);
}

}  // namespace

Result<std::string> LoadSecret(std::string_view flag_value, std::string_view flag_file) {
  if (!flag_value.empty()) return std::string(flag_value);
  if (!flag_file.empty()) return ReadSecretFile(flag_file);
  if (const char* env = std::getenv("EMBER_SECRET"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  if (const char* env = std::getenv("EMBER_SECRET_FILE"); env != nullptr && *env != '\0') {
    Result<std::string> secret = ReadSecretFile(env);
    if (!secret.ok()) return secret.status().WithContext("$EMBER_SECRET_FILE");
    return secret;
  }
  return InvalidArgumentError(
      "no application secret: pass --secret or --secret-file, or set $EMBER_SECRET or "
      "$EMBER_SECRET_FILE");
}

std::string GenerateSecret() {
  unsigned char bytes[kSecretBytes];
  // RAND_bytes only fails when the OS entropy source is broken; running with
  // a predictable secret would be worse than stopping.
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) std::abort();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * kSecretBytes);
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

bool SecretsEqual(std::string_view a, std::string_view b) {
  // Comparing fixed-size digests keeps the comparison constant-time even
  // when the lengths differ, so a peer learns nothing about the secret's length.
  const std::string da = Sha256(a);
  const std::string db = Sha256(b);
  return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

}  // namespace ember::transport
