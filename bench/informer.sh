#!/usr/bin/env bash
# Informer benchmark: starts the control plane if needed, runs
# ember-bench-informer against it, and stops the control plane again if it
# started it.
#   bench/informer.sh [build-dir] [extra ember-bench-informer flags]
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
"$build/bin/ember-bench-informer" --kubeconfig "$repo/.cache/controlplane/kubeconfig" "$@"
