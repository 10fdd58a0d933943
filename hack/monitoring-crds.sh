#!/usr/bin/env bash
# The prometheus-operator's CRDs (ServiceMonitor, PodMonitor, PrometheusRule)
# for the chart tests, so that the API server validates the chart's optional
# monitoring objects against their real schemas. The Go module proxy serves
# the operator's API types but not its YAML, so the CRDs are generated from
# those types with controller-gen, as the prometheus-operator generates its
# own. Built once, cached under ~/.cache/ember/tools.
#
#   hack/monitoring-crds.sh build    generate (if needed) and print the file's path
#   hack/monitoring-crds.sh path     print the path; exit 1 when it is not generated
set -euo pipefail

API_VERSION=${EMBER_PROMETHEUS_OPERATOR_VERSION:-v0.95.2}
CONTROLLER_TOOLS_VERSION=${EMBER_CONTROLLER_TOOLS_VERSION:-v0.23.0}
cache=${EMBER_CACHE_DIR:-$HOME/.cache/ember}/tools
out=$cache/prometheus-operator-crds-$API_VERSION.yaml

log() { echo "monitoring-crds: $*" >&2; }
die() { log "error: $*"; exit 1; }

build() {
  [[ -s $out ]] && return 0
  command -v go >/dev/null 2>&1 || [[ -x /usr/local/go/bin/go ]] ||
    die "the Go toolchain is required (looked for 'go' in PATH and /usr/local/go/bin)"
  export PATH=$PATH:/usr/local/go/bin
  # One Go module and build cache for every Go tool we build (the control
  # plane's, hack/controlplane.sh), so shared dependencies compile once.
  local go_cache=${EMBER_CACHE_DIR:-$HOME/.cache/ember}/controlplane/go
  export GOMODCACHE=${GOMODCACHE_OVERRIDE:-$go_cache/mod} GOCACHE=${GOCACHE_OVERRIDE:-$go_cache/build}
  export GOFLAGS="-buildvcs=false -modcacherw" CGO_ENABLED=0
  local src=$cache/src/monitoring-crds-$API_VERSION
  rm -rf "$src" && mkdir -p "$src/gen"
  log "generating the prometheus-operator $API_VERSION CRDs (first run only)"
  (
    cd "$src"
    printf 'module ember.local/monitoring-crds\n\ngo 1.26\n' >go.mod
    local api=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring
    printf 'package tools\n\nimport _ "%s/v1"\n' "$api" >tools.go
    go get "$api@$API_VERSION" "sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_TOOLS_VERSION" >/dev/null 2>&1 ||
      die "could not get $api@$API_VERSION or controller-tools@$CONTROLLER_TOOLS_VERSION from the module proxy"
    go build -o controller-gen sigs.k8s.io/controller-tools/cmd/controller-gen
    ./controller-gen crd:allowDangerousTypes=true,maxDescLen=0 paths="$api/v1" output:crd:dir=gen >/dev/null
    local f first=true
    : >"$out.tmp"
    for kind in servicemonitors podmonitors prometheusrules; do
      f=gen/monitoring.coreos.com_$kind.yaml
      [[ -s $f ]] || die "controller-gen made no $f"
      $first || echo "---" >>"$out.tmp"
      first=false
      cat "$f" >>"$out.tmp"
    done
    mv "$out.tmp" "$out"
  )
  log "generated $out"
}

case ${1:-build} in
  build)
    build
    echo "$out"
    ;;
  path) [[ -s $out ]] && echo "$out" || die "not generated: run hack/monitoring-crds.sh build" ;;
  *) die "usage: hack/monitoring-crds.sh build|path" ;;
esac
