#!/usr/bin/env bash
# Operator benchmark: starts the control plane if needed, runs
# ember-bench-operator against it (which starts ember-operator itself), and
# stops the control plane again if it started it.
#   bench/operator.sh [build-dir] [extra ember-bench-operator flags]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$repo/build}
shift || true
started=0
if ! bash "$repo/hack/controlplane.sh" status; then
  bash "$repo/hack/controlplane.sh" up
  started=1
fi
stop() { if [[ $started == 1 ]]; then bash "$repo/hack/controlplane.sh" down; fi; }
trap stop EXIT
run() {
  "$build/bin/ember-bench-operator" --kubeconfig "$repo/.cache/controlplane/kubeconfig" \
    --operator "$build/bin/ember-operator" --crd "$repo/manifests/crds/ember.dev_sparkapplications.yaml" "$@"
}
# A flood (as fast as the API server takes creates), which measures
# throughput; then 30 per second, below what this 2-core machine's API
# server sustains, where the latency is the operator's own reaction rather
# than time queued behind the API server.
run "$@"
echo
run --rate 30 "$@"
