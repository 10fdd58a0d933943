#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, for `make e2e`:
# etcd and kube-apiserver from hack/controlplane.sh, plus
# kube-controller-manager, kube-scheduler, a kubelet, kube-proxy, a
# containerd of its own with the CRI plugin, CNI bridge networking and
# CoreDNS.
#
#   hack/cluster.sh build           build and cache every binary and the pause image
#   hack/cluster.sh up              start everything; waits for the node Ready and DNS
#   hack/cluster.sh down            stop everything and undo every change to the machine
#   hack/cluster.sh env             print `export KUBECONFIG=...`
#   hack/cluster.sh status          exit 0 when the node is Ready and DNS answers
#   hack/cluster.sh load IMAGE...   copy images from the Docker engine to the node
#   hack/cluster.sh prometheus      print the path of the Prometheus built for e2e
#   hack/cluster.sh sysctls         print the sysctls `down` restores, one per line
#
# Why a separate containerd and not cri-dockerd: Debian's containerd already
# has the CRI plugin (Docker's own instance only disables it), it needs no
# third-party patch, and `restrict_oom_score_adj` is made for a root without
# CAP_SYS_RESOURCE, as here. It is also what kind and most clusters run.
#
# Everything runs as host processes started by this script; the only pods
# are the ones tests create. Runtime state lives in <repo>/.cache/cluster,
# sockets in /run/ember-cluster; binaries are cached under ~/.cache/ember.
set -euo pipefail

CNI_VERSION=${EMBER_CNI_VERSION:-v1.9.0}
COREDNS_VERSION=${EMBER_COREDNS_VERSION:-v1.14.7}
# Prometheus 3.16 (its Go module numbers releases v0.3XX): Debian's
# prometheus 2.42 is built without Kubernetes service discovery, which the
# e2e monitoring check needs.
PROMETHEUS_VERSION=${EMBER_PROMETHEUS_VERSION:-v0.316.0}
NODE_NAME=ember-node
POD_SUBNET=10.244.0.0/24
POD_GATEWAY=10.244.0.1
POD_NETWORK=10.244.0.0/16
SERVICE_NETWORK=10.0.0.0/24
KUBERNETES_SERVICE_IP=10.0.0.1
BRIDGE=cni0
PAUSE_IMAGE=ember.local/pause:1
TAG=ember-cluster

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${EMBER_CACHE_DIR:-$HOME/.cache/ember}
node_cache=$cache/node
cni_bin=$node_cache/cni-$CNI_VERSION/bin
coredns_bin=$node_cache/coredns-$COREDNS_VERSION/bin/coredns
prometheus_bin=$node_cache/prometheus-$PROMETHEUS_VERSION/bin/prometheus
state=${EMBER_CLUSTER_DIR:-$repo/.cache/cluster}
run=/run/ember-cluster
cp_state=$state/controlplane
pki=$cp_state/pki
# The machine as it was before the first `up`, restored by `down`.
baseline=$cache/cluster-baseline

log() { echo "cluster: $*" >&2; }
die() { log "error: $*"; exit 1; }

controlplane() {
  EMBER_CONTROLPLANE_DIR=$cp_state EMBER_CONTROLPLANE_NODE_IP=${node_ip:-} bash "$repo/hack/controlplane.sh" "$@"
}

# ---- build ---------------------------------------------------------------

go_env() {
  export PATH=$PATH:/usr/local/go/bin
  command -v go >/dev/null || die "the Go toolchain is required to build the node's binaries"
  export GOMODCACHE=${GOMODCACHE_OVERRIDE:-$cache/controlplane/go/mod}
  export GOCACHE=${GOCACHE_OVERRIDE:-$cache/controlplane/go/build}
  export GOFLAGS="-buildvcs=false -modcacherw" CGO_ENABLED=0
}

build_cni() {
  local p missing=()
  for p in bridge host-local loopback portmap; do [[ -x $cni_bin/$p ]] || missing+=("$p"); done
  ((${#missing[@]} == 0)) && return 0
  go_env
  log "building the CNI plugins $CNI_VERSION"
  mkdir -p "$cni_bin"
  local m=github.com/containernetworking/plugins/plugins
  GOBIN=$cni_bin go install -trimpath -ldflags "-s -w" \
    "$m/main/bridge@$CNI_VERSION" "$m/ipam/host-local@$CNI_VERSION" \
    "$m/main/loopback@$CNI_VERSION" "$m/meta/portmap@$CNI_VERSION"
}

build_coredns() {
  [[ -x $coredns_bin ]] && return 0
  go_env
  log "building CoreDNS $COREDNS_VERSION (first run only; takes minutes)"
  mkdir -p "$(dirname "$coredns_bin")"
  GOBIN=$(dirname "$coredns_bin") go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
}

build_prometheus() {
  [[ -x $prometheus_bin ]] && return 0
  go_env
  log "building Prometheus $PROMETHEUS_VERSION (first run only; takes minutes)"
  mkdir -p "$(dirname "$prometheus_bin")"
  GOBIN=$(dirname "$prometheus_bin") go install -trimpath -ldflags "-s -w" \
    "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_VERSION"
}

# The pod sandbox image: one static program in an otherwise empty image.
build_pause() {
  docker image inspect "$PAUSE_IMAGE" >/dev/null 2>&1 && return 0
  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/ember-pause.XXXXXX")
  g++ -std=c++20 -O2 -static -Wall -Wextra -Werror -o "$work/pause" "$repo/hack/cluster/pause.cc"
  tar -C "$work" -c pause | docker import -c 'ENTRYPOINT ["/pause"]' -c 'USER 65535:65535' - "$PAUSE_IMAGE" >/dev/null
  rm -rf "$work"
  log "built $PAUSE_IMAGE"
}

cmd_build() {
  controlplane build-node
  build_cni
  build_coredns
  build_prometheus
  build_pause
}

# ---- machine state that `down` restores -----------------------------------

SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward
  net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
  net.ipv4.conf.all.route_localnet net.netfilter.nf_conntrack_max)

# Taken at every `up`, right after the `down` that clears what an earlier
# run left, so that `down` restores the machine as it is now, not as it was
# at the first `up` ever.
save_baseline() {
  mkdir -p "$baseline"
  local k
  for k in "${SYSCTLS[@]}"; do
    [[ -e /proc/sys/${k//./\/} ]] && echo "$k=$(cat "/proc/sys/${k//./\/}")"
  done > "$baseline/sysctl.tmp"
  for t in iptables ip6tables; do "$t-save" 2>/dev/null | sed -n 's/^\(\*[a-z]*\)$/\1/p; s/^:\([^ ]*\) .*/\1/p' > "$baseline/$t.chains"; done
  mv "$baseline/sysctl.tmp" "$baseline/sysctl"
}

restore_sysctls() {
  [[ -f $baseline/sysctl ]] || return 0
  local line
  while IFS= read -r line; do
    [[ -e /proc/sys/${line%%=*} || -e /proc/sys/$(tr . / <<<"${line%%=*}") ]] || continue
    echo "${line#*=}" > "/proc/sys/$(tr . / <<<"${line%%=*}")" || log "could not restore ${line%%=*}"
  done < "$baseline/sysctl"
}

# Removes rules tagged with our comment, and every chain that was not there
# before the first `up` (the kubelet's canaries, portmap's CNI-* chains),
# with the rules that jump to them.
restore_iptables() {
  local t table chain rule
  for t in iptables ip6tables; do
    [[ -f $baseline/$t.chains ]] || continue
    for table in filter nat mangle; do
      local before now
      before=$(awk -v t="*$table" '/^\*/{in_t=($0==t); next} in_t' "$baseline/$t.chains")
      now=$("$t-save" -t "$table" 2>/dev/null | sed -n 's/^:\([^ ]*\) .*/\1/p') || continue
      local new=()
      for chain in $now; do grep -qxF "$chain" <<<"$before" || new+=("$chain"); done
      # Rules that carry our tag, or jump to a chain that goes.
      while IFS= read -r rule; do
        local drop=0
        [[ $rule == *"--comment $TAG"* || $rule == *"--comment \"$TAG"* ]] && drop=1
        for chain in "${new[@]}"; do [[ $rule == *" -j $chain"* || $rule == *" -g $chain"* ]] && drop=1; done
        if ((drop)); then
          local chain_of=${rule#-A }
          chain_of=${chain_of%% *}
          if ! grep -qxF "$chain_of" <<<"$(printf '%s\n' "${new[@]}")"; then
            eval "$t -t $table ${rule/#-A/-D}" 2>/dev/null || log "could not delete $t -t $table $rule"
          fi
        fi
      done < <("$t-save" -t "$table" 2>/dev/null | grep '^-A ')
      for chain in "${new[@]}"; do "$t" -t "$table" -F "$chain" 2>/dev/null || true; done
      for chain in "${new[@]}"; do "$t" -t "$table" -X "$chain" 2>/dev/null || log "could not delete chain $chain"; done
    done
  done
}

# ---- certificates and kubeconfigs -----------------------------------------

client_cert() { # NAME CN [O]
  local name=$1 cn=$2 org=${3:-}
  [[ -f $pki/$name.crt ]] && return 0
  local subj="/CN=$cn"
  [[ -n $org ]] && subj="/O=$org$subj"
  openssl req -newkey rsa:2048 -nodes -subj "$subj" -keyout "$pki/$name.key" -out "$pki/$name.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' > "$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/client-ca.crt" -CAkey "$pki/client-ca.key" -CAcreateserial \
    -days 3650 -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr" "$pki/$name.ext"
}

kubeconfig_for() { # NAME
  local name=$1 port
  port=$(cat "$cp_state/apiserver.port")
  cat > "$state/$name.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ember
  cluster: {server: "https://127.0.0.1:$port", certificate-authority: "$pki/serving-ca.crt"}
users:
- name: $name
  user: {client-certificate: "$pki/$name.crt", client-key: "$pki/$name.key"}
contexts:
- name: ember
  context: {cluster: ember, user: $name}
current-context: ember
EOF
}

# ---- processes --------------------------------------------------------------

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() { # NAME COMMAND...
  local name=$1
  shift
  pid_alive "$state/$name.pid" && return 0
  setsid "$@" >"$state/$name.log" 2>&1 </dev/null &
  echo $! > "$state/$name.pid"
}

stop() { # NAME
  local f=$state/$1.pid pid
  [[ -f $f ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

ctr_() { ctr --address "$run/containerd.sock" --namespace k8s.io "$@"; }

start_containerd() {
  mkdir -p "$run" "$state/containerd" "$state/cni/net.d"
  cat > "$state/containerd/config.toml" <<EOF
version = 2
root = "$state/containerd/root"
state = "$run/containerd-state"
[grpc]
  address = "$run/containerd.sock"
[ttrpc]
  address = "$run/containerd.sock.ttrpc"
[debug]
  address = "$run/containerd-debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$state/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$cni_bin"
    conf_dir = "$state/cni/net.d"
EOF
  start containerd containerd --config "$state/containerd/config.toml"
  for _ in $(seq 1 100); do
    ctr_ version >/dev/null 2>&1 && return 0
    pid_alive "$state/containerd.pid" || { tail -20 "$state/containerd.log" >&2; die "containerd exited (log: $state/containerd.log)"; }
    sleep 0.1
  done
  die "containerd did not answer within 10 s (log: $state/containerd.log)"
}

cmd_load() {
  (($# > 0)) || die "load: name at least one image"
  [[ -S $run/containerd.sock ]] || die "load: the cluster is not up"
  local img
  for img in "$@"; do docker image inspect "$img" >/dev/null 2>&1 || die "load: Docker has no image $img"; done
  docker save "$@" | ctr_ images import - >/dev/null ||
    die "load: importing $* into the node's containerd failed"
  log "loaded $*"
}

setup_network() {
  mkdir -p "$state/cni/net.d"
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
  fi
  ip addr replace "$POD_GATEWAY/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # Pods reach only the pod network and the service network: no default route.
  cat > "$state/cni/net.d/10-ember.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "ember",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$state/cni/ipam",
        "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$POD_GATEWAY"}]],
        "routes": [{"dst": "$POD_NETWORK"}, {"dst": "$SERVICE_NETWORK"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  # Docker's FORWARD policy is DROP and bridged frames pass through iptables.
  iptables -C FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "$TAG" -j ACCEPT 2>/dev/null ||
    iptables -I FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "$TAG" -j ACCEPT
}

start_node_components() {
  local port
  port=$(cat "$cp_state/apiserver.port")
  client_cert kube-controller-manager system:kube-controller-manager
  client_cert kube-scheduler system:kube-scheduler
  client_cert kubelet "system:node:$NODE_NAME" system:nodes
  client_cert kube-proxy system:kube-proxy
  client_cert coredns ember:coredns
  for c in kube-controller-manager kube-scheduler kubelet kube-proxy coredns; do kubeconfig_for "$c"; done
  local bin
  bin=$(controlplane bin-dir)

  # The token controller signs pods' service-account tokens; the rest run
  # as they would anywhere (garbage collector, namespace deletion, ...).
  start kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig "$state/kube-controller-manager.kubeconfig" \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/serving-ca.crt" \
    --use-service-account-credentials=true --leader-elect=false \
    --service-cluster-ip-range "$SERVICE_NETWORK" --bind-address 127.0.0.1 --secure-port 0
  start kube-scheduler "$bin/kube-scheduler" \
    --kubeconfig "$state/kube-scheduler.kubeconfig" --leader-elect=false --secure-port 0

  mkdir -p "$state/kubelet" "$state/pod-logs"
  printf 'nameserver %s\nsearch cluster.local\n' "$POD_GATEWAY" > "$state/resolv.conf"
  cat > "$state/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$run/containerd.sock
cgroupDriver: cgroupfs
failSwapOn: false
address: $node_ip
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$pki/client-ca.crt"}
authorization: {mode: Webhook}
clusterDNS: [$POD_GATEWAY]
clusterDomain: cluster.local
resolvConf: "$state/resolv.conf"
podLogsDir: "$state/pod-logs"
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
EOF
  start kubelet "$bin/kubelet" --config "$state/kubelet.yaml" \
    --kubeconfig "$state/kubelet.kubeconfig" --root-dir "$state/kubelet" \
    --hostname-override "$NODE_NAME" --node-ip "$node_ip"

  # ClusterIP Services, the API server's among them, as on any cluster.
  # Conntrack limits and localhost node ports are left as the machine has
  # them: nothing here needs them changed.
  cat > "$state/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$state/kube-proxy.kubeconfig"}
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_NETWORK
mode: iptables
iptables: {localhostNodePorts: false}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
  start kube-proxy "$bin/kube-proxy" --config "$state/kube-proxy.yaml"

  # CoreDNS answers for cluster.local on the bridge's address, which every
  # pod can reach; names outside the cluster get no answer (no upstream).
  kubectl_ apply -f - >/dev/null <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "ember:coredns"}
rules:
  - apiGroups: [""]
    resources: [endpoints, services, pods, namespaces]
    verbs: [list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "ember:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "ember:coredns"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "ember:coredns"}]
EOF
  cat > "$state/Corefile" <<EOF
.:53 {
  bind $POD_GATEWAY
  errors
  ready 127.0.0.1:18181
  kubernetes cluster.local in-addr.arpa ip6.arpa {
    kubeconfig $state/coredns.kubeconfig ember
    pods insecure
    ttl 5
  }
}
EOF
  start coredns "$coredns_bin" -conf "$state/Corefile"
}

kubectl_() { KUBECONFIG=$cp_state/kubeconfig kubectl "$@"; }

node_ready() {
  [[ $(kubectl_ get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}

dns_answers() {
  [[ $(dig +short +time=1 +tries=1 @"$POD_GATEWAY" kubernetes.default.svc.cluster.local A 2>/dev/null) == "$KUBERNETES_SERVICE_IP" ]]
}

check_alive() {
  local c
  for c in containerd kube-controller-manager kube-scheduler kubelet kube-proxy coredns; do
    pid_alive "$state/$c.pid" || { tail -30 "$state/$c.log" >&2; die "$c exited (log: $state/$c.log)"; }
  done
}

find_node_ip() {
  local ip
  ip=$(ip -4 -o addr show scope global | awk '$2 != "docker0" && $2 != "'"$BRIDGE"'" {split($4, a, "/"); print a[1]; exit}')
  [[ -n $ip ]] || die "no IPv4 address found for the node (ip -4 addr show scope global)"
  echo "$ip"
}

preflight() {
  [[ $(id -u) -eq 0 ]] || die "the local node needs root (kubelet, containerd, bridge, iptables)"
  local t
  for t in containerd ctr runc iptables ip dig openssl kubectl docker; do
    command -v "$t" >/dev/null || die "$t is not installed (hack/install-deps.sh installs it)"
  done
  docker info >/dev/null 2>&1 || die "the Docker engine is not reachable (needed for the pause image and to load images)"
}

cmd_up() {
  preflight
  if [[ -f $state/up ]] && node_ready && dns_answers; then
    log "already up"
    return 0
  fi
  # Whatever a failed or interrupted `up` left goes first.
  cmd_down >/dev/null 2>&1 || true
  cmd_build
  save_baseline
  local t0=$SECONDS
  node_ip=$(find_node_ip)
  mkdir -p "$state"
  echo "$node_ip" > "$state/node-ip"
  controlplane up
  setup_network
  start_containerd
  docker save "$PAUSE_IMAGE" | ctr_ images import - >/dev/null || die "importing the pause image failed"
  start_node_components
  for _ in $(seq 1 600); do
    if node_ready && dns_answers; then
      touch "$state/up"
      log "up in $((SECONDS - t0)) s: node $NODE_NAME ($node_ip), pods on $POD_SUBNET, DNS at $POD_GATEWAY"
      log "kubeconfig: $cp_state/kubeconfig"
      return 0
    fi
    check_alive
    sleep 0.2
  done
  node_ready || die "the node did not become Ready within 120 s (log: $state/kubelet.log)"
  die "CoreDNS did not answer within 120 s (log: $state/coredns.log)"
}

cmd_down() {
  rm -f "$state/up"
  stop kubelet
  stop kube-proxy
  stop coredns
  stop kube-scheduler
  stop kube-controller-manager
  # Every container of every pod, then containerd and its shims.
  if [[ -S $run/containerd.sock ]]; then
    local id
    for id in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true; done
  fi
  stop containerd
  pkill -KILL -f "containerd-shim-runc-v2 .*-address $run/containerd.sock" 2>/dev/null || true
  # Processes still in a pod cgroup (a shim killed before its container).
  local cg pid
  for cg in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d $cg ]] || continue
    while IFS= read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done < <(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null)
  done
  sleep 0.2
  controlplane down >/dev/null 2>&1 || true
  # Mounts: pod volumes, snapshots, network namespaces; deepest first.
  local m
  while IFS= read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
    findmnt -rn -o TARGET | grep -E "^($state|$run|/run/netns/cni-|/var/run/netns/cni-|/run/containerd/io.containerd.runtime.v2.task/k8s.io)" | sort -r)
  rm -f /run/netns/cni-* 2>/dev/null || true
  for cg in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d $cg ]] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link del "$BRIDGE"
  restore_iptables
  restore_sysctls
  rm -rf "$run" "$state/containerd" "$state/kubelet" "$state/cni" "$state/pod-logs" "$state"/*.pid
  log "down"
}

cmd_status() {
  node_ready && dns_answers
}

case "${1:-}" in
  build) cmd_build ;;
  up) cmd_up ;;
  down) cmd_down ;;
  env) echo "export KUBECONFIG=$cp_state/kubeconfig" ;;
  status) cmd_status ;;
  load) shift; cmd_load "$@" ;;
  prometheus) [[ -x $prometheus_bin ]] || die "Prometheus is not built: hack/cluster.sh build"; echo "$prometheus_bin" ;;
  sysctls) printf '%s\n' "${SYSCTLS[@]}" ;;
  *) echo "usage: $0 build|up|down|env|status|load IMAGE...|prometheus|sysctls" >&2; exit 2 ;;
esac
