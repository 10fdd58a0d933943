#!/usr/bin/env bash
# hack/e2e.sh on a kind cluster, for CI with internet access (kind cannot run
# where Ember is developed: no registry, and its privileged node containers
# fail there).
#
#   hack/e2e-kind.sh        needs docker, kind, kubectl and helm in PATH
set -euo pipefail
cd "$(dirname "$0")/.."
cluster=${EMBER_KIND_CLUSTER:-ember-e2e}
version=$(sed -n 's/^project(ember VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || { echo "e2e-kind: error: $tool is required" >&2; exit 1; }
done
bash hack/images.sh
kind create cluster --name "$cluster" --wait 120s
trap 'kind delete cluster --name "$cluster"' EXIT
for image in ember-driver ember-executor ember-operator; do
  kind load docker-image --name "$cluster" "$image:$version"
done
# Every scenario but monitoring: the host cannot reach kind's pod IPs.
HELM=$(command -v helm) bash hack/e2e.sh install spark-pi submit wordcount executor-deleted driver-deleted \
  operator-deleted bad-image unschedulable security load web-ui uninstall
