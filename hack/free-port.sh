#!/usr/bin/env bash
# Prints a loopback TCP port that nothing listens on, for tests and local
# clusters that must pass a port to a server before it starts.
#
# The port comes from below the kernel's ephemeral range
# (net.ipv4.ip_local_port_range): a port from inside it can be handed to any
# outgoing connection between this probe and the server's bind, which is how a
# CI run once lost the operator's metrics port to "Address already in use".
set -euo pipefail

read -r ephemeral_low _ </proc/sys/net/ipv4/ip_local_port_range
low=10000
high=$((ephemeral_low - 1))
if ((high - low < 1000)); then
  # An unusual ephemeral range leaves no room below it; fall back to the top.
  low=61000
  high=64999
fi
for _ in $(seq 1 200); do
  port=$((low + (RANDOM * 32768 + RANDOM) % (high - low + 1)))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "$port"
    exit 0
  fi
done
echo "free-port: no free loopback port in $low-$high after 200 tries" >&2
exit 1
