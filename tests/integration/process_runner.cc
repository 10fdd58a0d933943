#include "process_runner.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace ember::testing {

std::string ProcessResult::Describe() const {
  std::string s = "exit_code=" + std::to_string(exit_code) +
                  " signal=" + std::to_string(term_signal) + (timed_out ? " TIMED OUT" : "") +
                  "\n--- stdout (" + std::to_string(out.size()) + " bytes) ---\n";
  // Keep failure output readable when a process printed megabytes.
  constexpr size_t kShown = 4000;
  s += out.size() > kShown ? out.substr(0, kShown) + "\n[...]" : out;
  s += "\n--- stderr ---\n";
  s += err.size() > kShown ? err.substr(err.size() - kShown) : err;
  return s;
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFileOrDie(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string MakeTempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  }
  return pattern;
}

namespace {

// Tries to bind PORT on loopback; true when nothing holds it.
bool CanBind(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

int PickFreePort() {
  // Below the kernel's ephemeral range: a port from inside it (what binding
  // port 0 returns) can be taken by any outgoing connection before the server
  // under test binds it. hack/free-port.sh does the same for the scripts.
  int low = 10000;
  int high = 32767;
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int ephemeral_low = 0;
  if (range >> ephemeral_low) high = ephemeral_low - 1;
  if (high - low < 1000) {
    low = 61000;
    high = 64999;
  }
  // Ports handed out by this process are not handed out again, so one test
  // that asks for several gets distinct ones.
  static std::mutex mu;
  static std::set<int> given;
  static std::mt19937 rng(std::random_device{}());
  std::lock_guard<std::mutex> lock(mu);
  std::uniform_int_distribution<int> pick(low, high);
  for (int i = 0; i < 500; ++i) {
    const int port = pick(rng);
    if (given.count(port) == 0 && CanBind(port)) {
      given.insert(port);
      return port;
    }
  }
  throw std::runtime_error("no free loopback port in " + std::to_string(low) + "-" +
                           std::to_string(high) + " after 500 tries");
}

std::optional<int64_t> ProcessMemoryBytes(pid_t pid, std::string_view field) {
  std::istringstream status(ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':') {
      return std::stoll(line.substr(field.size() + 1)) * 1024;  // kB there
    }
  }
  return std::nullopt;
}

Process::Process(std::vector<std::string> argv, std::vector<std::string> extra_env) {
  dir_ = MakeTempDir("ember-proc");
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "EMBER_", 6) != 0) env.emplace_back(*e);
  }
  for (auto& e : extra_env) env.push_back(std::move(e));
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string out = dir_ + "/stdout";
  const std::string err = dir_ + "/stderr";
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // Its own process group, so that a timeout kill also ends the executors
  // a driver started.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  const int rc = ::posix_spawn(&pid_, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    start_error_ = "cannot start " + argv[0] + ": " + std::strerror(rc);
  }
}

Process::~Process() {
  if (pid_ > 0 && !reaped_) {
    ::kill(-pid_, SIGKILL);
    Reap(true);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

bool Process::Reap(bool block) {
  if (pid_ <= 0 || reaped_) return true;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    reaped_ = true;
    wait_status_ = status;
  }
  return reaped_;
}

bool Process::running() {
  return pid_ > 0 && !Reap(false);
}

std::string Process::Stdout() const {
  return ReadFileOrEmpty(dir_ + "/stdout");
}
std::string Process::Stderr() const {
  return ReadFileOrEmpty(dir_ + "/stderr");
}

void Process::Signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

ProcessResult Process::Wait(std::chrono::seconds timeout) {
  ProcessResult r;
  if (pid_ <= 0) {
    r.err = start_error_;
    return r;
  }
  if (!WaitUntil([this] { return Reap(false); }, timeout)) {
    r.timed_out = true;
    ::kill(-pid_, SIGKILL);
    Reap(true);
  }
  if (WIFEXITED(wait_status_)) r.exit_code = WEXITSTATUS(wait_status_);
  if (WIFSIGNALED(wait_status_)) r.term_signal = WTERMSIG(wait_status_);
  r.out = Stdout();
  r.err = Stderr();
  return r;
}

ProcessResult RunProcess(std::vector<std::string> argv, std::vector<std::string> extra_env,
                         std::chrono::seconds timeout) {
  Process p(std::move(argv), std::move(extra_env));
  return p.Wait(timeout);
}

HttpAnswer HttpExchange(int port, const std::string& request) {
  HttpAnswer answer;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return answer;
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return answer;
  }
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (and close) before reading it all
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
    const size_t head_end = raw.find("\r\n\r\n");
    if (head_end == std::string::npos) continue;
    std::string lower = raw.substr(0, head_end);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const size_t cl = lower.find("content-length:");
    if (cl != std::string::npos && raw.size() >= head_end + 4 + std::stoul(lower.substr(cl + 15))) {
      break;
    }
  }
  ::close(fd);
  const size_t head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12 || head_end == std::string::npos) {
    return answer;
  }
  answer.status = std::atoi(raw.c_str() + 9);
  answer.headers = raw.substr(0, head_end);
  answer.body = raw.substr(head_end + 4);
  return answer;
}

HttpAnswer HttpGet(int port, const std::string& path) {
  return HttpExchange(port,
                      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
}

}  // namespace ember::testing
