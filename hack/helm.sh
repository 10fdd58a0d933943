#!/usr/bin/env bash
# Builds helm from the Go module proxy for the chart tests, once, and caches
# it under ~/.cache/ember/tools.
#
#   hack/helm.sh build    build (if needed) and print the binary's path
#   hack/helm.sh path     print the path; exit 1 when it is not built
#
# The version ldflags are the ones helm's own Makefile sets: without them
# `helm version` reports nothing and `helm template`/`helm lint` assume
# Kubernetes 1.20, older than the chart's kubeVersion.
set -euo pipefail

HELM_VERSION=${EMBER_HELM_VERSION:-v3.21.4}
cache=${EMBER_CACHE_DIR:-$HOME/.cache/ember}/tools
bin=$cache/helm-$HELM_VERSION/helm

log() { echo "helm: $*" >&2; }
die() { log "error: $*"; exit 1; }

build() {
  [[ -x $bin ]] && return 0
  command -v go >/dev/null 2>&1 || [[ -x /usr/local/go/bin/go ]] ||
    die "the Go toolchain is required to build helm (looked for 'go' in PATH and /usr/local/go/bin)"
  export PATH=$PATH:/usr/local/go/bin
  # One Go module and build cache for every Go tool we build (the control
  # plane's, hack/controlplane.sh), so shared dependencies compile once.
  local go_cache=${EMBER_CACHE_DIR:-$HOME/.cache/ember}/controlplane/go
  export GOMODCACHE=${GOMODCACHE_OVERRIDE:-$go_cache/mod} GOCACHE=${GOCACHE_OVERRIDE:-$go_cache/build}
  export GOFLAGS="-buildvcs=false -modcacherw" CGO_ENABLED=0
  local src=$cache/src/helm-$HELM_VERSION
  rm -rf "$src" && mkdir -p "$src" "$(dirname "$bin")"
  log "building helm $HELM_VERSION (first run only; a few minutes)"
  (
    cd "$src"
    printf 'module ember.local/helm-tools\n\ngo 1.26\n' >go.mod
    go get "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >/dev/null 2>&1 ||
      die "could not get helm.sh/helm/v3@$HELM_VERSION from the module proxy"
    local client_go minor ldflags
    client_go=$(go list -m -f '{{.Version}}' k8s.io/client-go) # v0.36.2 -> Kubernetes 1.36
    minor=$(cut -d. -f2 <<<"$client_go")
    ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
    ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
    for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
      ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
    done
    go build -trimpath -ldflags "$ldflags" -o "$bin.tmp" helm.sh/helm/v3/cmd/helm
    mv "$bin.tmp" "$bin"
  )
  log "built $("$bin" version --short)"
}

case ${1:-build} in
  build)
    build
    echo "$bin"
    ;;
  path) [[ -x $bin ]] && echo "$bin" || die "helm is not built: run hack/helm.sh build" ;;
  *) die "usage: hack/helm.sh build|path" ;;
esac
