// Stopping a civetweb server at once. civetweb's listener looks at its stop
// flag only between polls of up to 2 s, so a plain stop held every process's
// exit (and so each pod's end) that long; connections wake the poll.
//
// Thread-safety: StopWhileWaking may run in any thread.
#pragma once

#include <functional>
#include <string>

namespace ember {

// Where wake-up connections for a server bound to `bind_address` go: the
// address itself, or loopback for a wildcard.
std::string WakeHost(const std::string& bind_address);

// Runs `stop` while another thread connects to host:port every 10 ms.
void StopWhileWaking(const std::string& host, int port, const std::function<void()>& stop);

}  // namespace ember
