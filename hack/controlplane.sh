#!/usr/bin/env bash
# A real Kubernetes control plane (etcd + kube-apiserver) on loopback, for
# tests and for developers who want a local API server for kubectl.
#
#   hack/controlplane.sh build              build and cache the binaries only
#   hack/controlplane.sh build-node         also build kubelet, kube-proxy, kube-controller-manager, kube-scheduler
#   hack/controlplane.sh up                 start etcd and kube-apiserver, wait for /readyz
#   hack/controlplane.sh down               stop both; leaves no process behind
#   hack/controlplane.sh env                print `export KUBECONFIG=...`
#   hack/controlplane.sh restart-apiserver  restart kube-apiserver only (same port, same etcd)
#   hack/controlplane.sh status             exit 0 when the API server answers /readyz
#
# The binaries are built from the Go module proxy at a pinned release and
# cached under ~/.cache/ember/controlplane, so only the first run pays for
# the build. Runtime state (certificates, etcd data, logs, pids, kubeconfig)
# lives in <repo>/.cache/controlplane.
#
# With EMBER_CONTROLPLANE_NODE_IP set (hack/cluster.sh does), the API server
# is started for a real node instead of for envtest-style tests: it listens on
# that address too, authorizes kubelets with the Node authorizer and
# NodeRestriction, talks to kubelets with a client certificate, and gives pods
# service-account tokens.
set -euo pipefail

K8S_VERSION=${EMBER_K8S_VERSION:-v1.34.2}
ETCD_VERSION=${EMBER_ETCD_VERSION:-v3.6.5}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${EMBER_CACHE_DIR:-$HOME/.cache/ember}/controlplane
state=${EMBER_CONTROLPLANE_DIR:-$repo/.cache/controlplane}
k8s_bin=$cache/kubernetes-$K8S_VERSION/bin
node_ip=${EMBER_CONTROLPLANE_NODE_IP:-}
etcd_bin=$cache/etcd-$ETCD_VERSION/bin

log() { echo "controlplane: $*" >&2; }
die() { log "error: $*"; exit 1; }

need_go() {
  command -v go >/dev/null 2>&1 || [[ -x /usr/local/go/bin/go ]] ||
    die "the Go toolchain is required to build kube-apiserver and etcd (looked for 'go' in PATH and /usr/local/go/bin)"
  export PATH=$PATH:/usr/local/go/bin
  # Module downloads and build artefacts stay under ~/.cache like every
  # other cache of ours; -modcacherw keeps them deletable.
  export GOMODCACHE=${GOMODCACHE_OVERRIDE:-$cache/go/mod}
  export GOCACHE=${GOCACHE_OVERRIDE:-$cache/go/build}
  export GOFLAGS="-buildvcs=false -modcacherw" CGO_ENABLED=0
}

# Go refuses `go install` of a module whose go.mod has replace directives, and
# k8s.io/kubernetes replaces every staging module with a local path. A wrapper
# module of our own pins each staging module to its published v0.x tag. All
# commands share it and the Go build cache, so the node's binaries (kubelet,
# kube-controller-manager, kube-scheduler) reuse what kube-apiserver compiled.
k8s_wrapper() {
  local src=$cache/src/kubernetes-$K8S_VERSION
  if [[ ! -f $src/go.mod ]]; then
    rm -rf "$src" && mkdir -p "$src"
    (
      cd "$src"
      local gomod staging minor
      gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
      [[ -f $gomod ]] || die "could not download k8s.io/kubernetes@$K8S_VERSION from the module proxy"
      staging=$(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$gomod")
      [[ -n $staging ]] || die "no staging modules found in $gomod"
      minor=${K8S_VERSION#v1.}
      {
        echo "module ember.local/kubernetes-tools"
        echo
        echo "go 1.24"
        echo
        echo "require k8s.io/kubernetes $K8S_VERSION"
        echo
        echo "replace ("
        for m in $staging; do echo "  $m => $m v0.$minor"; done
        echo ")"
      } > go.mod.tmp
      mv go.mod.tmp go.mod
    )
  fi
  echo "$src"
}

build_k8s_cmd() { # NAME
  local name=$1
  [[ -x $k8s_bin/$name ]] && return 0
  need_go
  mkdir -p "$k8s_bin"
  log "building $name $K8S_VERSION (first run only; takes minutes)"
  local src
  src=$(k8s_wrapper)
  (
    cd "$src"
    go get "k8s.io/kubernetes/cmd/$name@$K8S_VERSION"
    local commit date ldflags minor=${K8S_VERSION#v1.}
    commit=$(printf '%040d' 0)
    date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor%%.*}"
      ldflags+=" -X $pkg.gitCommit=$commit -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
    done
    go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ldflags" \
      -o "$k8s_bin/$name.tmp" "k8s.io/kubernetes/cmd/$name"
    mv "$k8s_bin/$name.tmp" "$k8s_bin/$name"
  )
}

build_kubernetes() { build_k8s_cmd kube-apiserver; }

# etcd's server module has replace directives too; a wrapper that requires it
# at a release tag resolves its sibling modules from their published tags.
build_etcd() {
  [[ -x $etcd_bin/etcd ]] && return 0
  need_go
  local src=$cache/src/etcd-$ETCD_VERSION
  rm -rf "$src" && mkdir -p "$src" "$etcd_bin"
  log "building etcd $ETCD_VERSION (first run only)"
  (
    cd "$src"
    printf 'module ember.local/etcd-tools\n\ngo 1.24\n' > go.mod
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    go build -trimpath -ldflags "-s -w" -o "$etcd_bin/etcd.tmp" go.etcd.io/etcd/server/v3
    mv "$etcd_bin/etcd.tmp" "$etcd_bin/etcd"
  )
}

free_port() {
  "$repo/hack/free-port.sh" || die "no free loopback port found"
}

gen_certs() {
  local d=$state/pki
  [[ -f $d/admin.crt ]] && return 0
  mkdir -p "$d"
  (
    cd "$d"
    local ossl=(openssl)
    for ca in serving-ca client-ca; do
      "${ossl[@]}" req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=ember-$ca" \
        -keyout "$ca.key" -out "$ca.crt" 2>/dev/null
    done
    "${ossl[@]}" req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout apiserver.key -out apiserver.csr 2>/dev/null
    printf 'subjectAltName=DNS:localhost,DNS:kubernetes.default.svc,IP:127.0.0.1,IP:10.0.0.1%s\nextendedKeyUsage=serverAuth\n' \
      "${node_ip:+,IP:$node_ip}" > apiserver.ext
    "${ossl[@]}" x509 -req -in apiserver.csr -CA serving-ca.crt -CAkey serving-ca.key -CAcreateserial \
      -days 3650 -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    "${ossl[@]}" req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=admin" -keyout admin.key -out admin.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' > admin.ext
    "${ossl[@]}" x509 -req -in admin.csr -CA client-ca.crt -CAkey client-ca.key -CAcreateserial \
      -days 3650 -extfile admin.ext -out admin.crt 2>/dev/null
    # The API server's identity towards kubelets (logs, exec, port-forward).
    "${ossl[@]}" req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=ember-apiserver-kubelet-client" \
      -keyout kubelet-client.key -out kubelet-client.csr 2>/dev/null
    "${ossl[@]}" x509 -req -in kubelet-client.csr -CA client-ca.crt -CAkey client-ca.key -CAcreateserial \
      -days 3650 -extfile admin.ext -out kubelet-client.crt 2>/dev/null
    "${ossl[@]}" genrsa -out sa.key 2048 2>/dev/null
    "${ossl[@]}" rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f ./*.csr ./*.ext
  )
}

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pid() {
  local f=$1 pid
  [[ -f $f ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

start_etcd() {
  pid_alive "$state/etcd.pid" && return 0
  local client_port peer_port
  client_port=$(free_port)
  peer_port=$(free_port)
  echo "$client_port" > "$state/etcd.port"
  mkdir -p "$state/etcd-data"
  setsid "$etcd_bin/etcd" --name ember-test --data-dir "$state/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$client_port" \
    --advertise-client-urls "http://127.0.0.1:$client_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "ember-test=http://127.0.0.1:$peer_port" \
    --unsafe-no-fsync --log-level warn \
    >"$state/etcd.log" 2>&1 </dev/null &
  echo $! > "$state/etcd.pid"
  for _ in $(seq 1 200); do
    curl -fsS "http://127.0.0.1:$client_port/health" >/dev/null 2>&1 && return 0
    pid_alive "$state/etcd.pid" || { tail -20 "$state/etcd.log" >&2; die "etcd exited during start-up (log: $state/etcd.log)"; }
    sleep 0.1
  done
  die "etcd did not become healthy within 20 s (log: $state/etcd.log)"
}

start_apiserver() {
  pid_alive "$state/apiserver.pid" && return 0
  local port etcd_port pki=$state/pki
  [[ -f $state/apiserver.port ]] || free_port > "$state/apiserver.port"
  port=$(cat "$state/apiserver.port")
  etcd_port=$(cat "$state/etcd.port")
  local mode=(--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --authorization-mode RBAC
    --disable-admission-plugins ServiceAccount)
  if [[ -n $node_ip ]]; then
    mode=(--bind-address 0.0.0.0 --advertise-address "$node_ip" --authorization-mode Node,RBAC
      --enable-admission-plugins NodeRestriction
      --kubelet-client-certificate "$pki/kubelet-client.crt" --kubelet-client-key "$pki/kubelet-client.key"
      --kubelet-preferred-address-types InternalIP,Hostname)
  fi
  setsid "$k8s_bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" --secure-port "$port" "${mode[@]}" \
    --cert-dir "$state/apiserver-certs" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/client-ca.crt" \
    --service-account-issuer "https://127.0.0.1:$port/" \
    --service-account-key-file "$pki/sa.pub" \
    --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range 10.0.0.0/24 --allow-privileged=true \
    >"$state/apiserver.log" 2>&1 </dev/null &
  echo $! > "$state/apiserver.pid"
  wait_ready
}

kubeconfig_path() { echo "$state/kubeconfig"; }

write_kubeconfig() {
  local port pki=$state/pki
  port=$(cat "$state/apiserver.port")
  cat > "$(kubeconfig_path)" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ember-controlplane
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority: $pki/serving-ca.crt
users:
- name: admin
  user:
    client-certificate: $pki/admin.crt
    client-key: $pki/admin.key
contexts:
- name: ember-controlplane
  context:
    cluster: ember-controlplane
    user: admin
    namespace: default
current-context: ember-controlplane
EOF
}

readyz() {
  local port pki=$state/pki
  port=$(cat "$state/apiserver.port" 2>/dev/null) || return 1
  curl -fsS --max-time 2 --cacert "$pki/serving-ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$port/readyz" >/dev/null 2>&1
}

wait_ready() {
  for _ in $(seq 1 600); do
    if readyz; then
      # The default namespace appears shortly after /readyz; tests create
      # objects in it straight away.
      local port pki=$state/pki
      port=$(cat "$state/apiserver.port")
      if curl -fsS --max-time 2 --cacert "$pki/serving-ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
        "https://127.0.0.1:$port/api/v1/namespaces/default" >/dev/null 2>&1; then
        return 0
      fi
    fi
    pid_alive "$state/apiserver.pid" || { tail -20 "$state/apiserver.log" >&2; die "kube-apiserver exited during start-up (log: $state/apiserver.log)"; }
    sleep 0.1
  done
  die "kube-apiserver was not ready within 60 s (log: $state/apiserver.log)"
}

cmd_up() {
  build_etcd
  build_kubernetes
  mkdir -p "$state"
  if pid_alive "$state/apiserver.pid" && readyz; then
    log "already up"
    return 0
  fi
  gen_certs
  start_etcd
  start_apiserver
  write_kubeconfig
  log "up: $("$k8s_bin/kube-apiserver" --version) at https://127.0.0.1:$(cat "$state/apiserver.port")"
  log "kubeconfig: $(kubeconfig_path)"
}

cmd_down() {
  stop_pid "$state/apiserver.pid"
  stop_pid "$state/etcd.pid"
  rm -rf "$state/etcd-data" "$state/apiserver.port" "$state/etcd.port"
  log "down"
}

case "${1:-}" in
  build) build_etcd; build_kubernetes ;;
  build-node)
    build_etcd
    for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do build_k8s_cmd "$c"; done
    ;;
  bin-dir) echo "$k8s_bin" ;;
  up) cmd_up ;;
  down) cmd_down ;;
  env) echo "export KUBECONFIG=$(kubeconfig_path)" ;;
  restart-apiserver)
    stop_pid "$state/apiserver.pid"
    start_apiserver
    ;;
  status) readyz ;;
  etcd-url) echo "http://127.0.0.1:$(cat "$state/etcd.port")" ;;
  *) echo "usage: $0 build|build-node|bin-dir|up|down|env|restart-apiserver|status|etcd-url" >&2; exit 2 ;;
esac
