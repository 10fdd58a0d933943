#!/usr/bin/env bash
# Installs every build and test dependency of Ember on Debian 12.
# Idempotent: packages already present are skipped, so a warm machine pays
# only for one dpkg query.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates curl openssl
  libcpprest-dev libboost-system-dev libssl-dev
  libyaml-cpp-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  prometheus-cpp-dev libcivetweb-dev
  nlohmann-json3-dev
  libgtest-dev libgmock-dev
  procps psmisc python3
  chromium
  clang-format
  prometheus
  containerd runc iptables iproute2 bind9-dnsutils
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'install ok installed' >/dev/null; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
