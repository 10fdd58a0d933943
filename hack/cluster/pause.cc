// The pod sandbox's process for the local node (hack/cluster.sh): it holds
// the pod's namespaces open, reaps whatever gets reparented to it, and exits
// on SIGTERM or SIGINT. Built static so its image is this one file.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

volatile sig_atomic_t stop = 0;

void OnStop(int) {
  stop = 1;
}

void OnChild(int) {
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

}  // namespace

int main() {
  struct sigaction stop_action = {};
  stop_action.sa_handler = OnStop;
  sigaction(SIGTERM, &stop_action, nullptr);
  sigaction(SIGINT, &stop_action, nullptr);
  struct sigaction child_action = {};
  child_action.sa_handler = OnChild;
  child_action.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigaction(SIGCHLD, &child_action, nullptr);
  while (!stop) pause();
  return 0;
}
