// A leader-election candidate as a process of its own, for the leader
// election tests: they start several, kill one with SIGKILL (a crash: no
// release) or SIGTERM (a clean shutdown: the lease is released) and watch
// who leads.
//
//   ember-leader-candidate <kubeconfig> <namespace> <lease> <identity>
//       <state-file> <lease-ms> <renew-ms> <retry-ms>
//
// The state file holds "leader" while the candidate leads and "follower"
// otherwise; it is replaced atomically (rename) so a reader never sees a
// partial write.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "operator/kube/client/client.h"
#include "operator/leader/leader_election.h"

namespace {

void WriteState(const std::string& path, const std::string& state) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << state << "\n";
  std::rename(tmp.c_str(), path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ember::kube;
  if (argc != 9) {
    std::cerr << "usage: " << argv[0]
              << " kubeconfig namespace lease identity state-file lease-ms renew-ms retry-ms\n";
    return 2;
  }
  const std::string state_file = argv[5];
  // SIGTERM is handled by a thread of ours rather than in a signal handler,
  // so stopping can take locks and make API calls.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ember::Result<ClientConfig> config = LoadKubeconfig(KubeconfigOptions{argv[1], ""});
  if (!config.ok()) {
    std::cerr << config.status().ToString() << "\n";
    return 1;
  }
  auto client = Client::FromConfig(*config);
  if (!client.ok()) {
    std::cerr << client.status().ToString() << "\n";
    return 1;
  }
  LeaderElectionConfig election;
  election.lease_namespace = argv[2];
  election.lease_name = argv[3];
  election.identity = argv[4];
  election.lease_duration = std::chrono::milliseconds(std::stoll(argv[6]));
  election.renew_deadline = std::chrono::milliseconds(std::stoll(argv[7]));
  election.retry_period = std::chrono::milliseconds(std::stoll(argv[8]));
  LeaderCallbacks callbacks;
  callbacks.on_started_leading = [&](std::stop_token stop) {
    WriteState(state_file, "leader");
    // Stands in for reconciling: runs until leadership ends.
    while (!stop.stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    WriteState(state_file, "follower");
  };
  auto elector = LeaderElector::Create(client->get(), election, callbacks);
  if (!elector.ok()) {
    std::cerr << elector.status().ToString() << "\n";
    return 1;
  }
  WriteState(state_file, "follower");
  std::stop_source stop;
  std::thread signal_waiter([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    stop.request_stop();
  });
  signal_waiter.detach();
  (*elector)->Run(stop.get_token());
  WriteState(state_file, stop.stop_requested() ? "stopped" : "lost");
  return 0;
}
