#!/usr/bin/env bash
# `make e2e`: the local single-node cluster (hack/cluster.sh) with Ember's
# images on it, the scenarios of hack/e2e.sh, the start-latency figures of
# bench/e2e.sh, then `down`, checked to leave the machine as it found it.
#
#   hack/e2e-local.sh [SCENARIO...]     images must be built (make images)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
version=$(sed -n 's/^project(ember VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
work=$(mktemp -d "${TMPDIR:-/tmp}/ember-e2e-local.XXXXXX")
export EMBER_E2E_ERROR_FILE=$work/error
step=setup
log() { echo "e2e-local: $*" >&2; }
die() { log "error: $*"; exit 1; }

for image in ember-driver ember-executor ember-operator; do
  docker image inspect "$image:$version" >/dev/null 2>&1 || die "image $image:$version is missing: run make images"
done

# What `down` must give back: mounts, links, iptables rules, sysctls, pod
# cgroups, containers. Counters and comments aside, the same text.
snapshot() { # FILE
  {
    # Docker's own network namespaces come and go with its containers.
    echo "## mounts"; findmnt -rn -o TARGET | grep -v '^/proc/\|^/run/docker/netns/' | sort
    echo "## links"; ip -o link show | awk '{print $2}' | sort
    # A table with no rule and only ACCEPT policies filters nothing; the
    # kubelet's probes leave such empty tables behind.
    for t in iptables ip6tables; do
      echo "## $t"
      # sed, not grep: an empty dump (no ip6tables tables loaded) is no error.
      { "$t-save" 2>/dev/null || true; } | sed '/^#/d; s/\[[0-9]*:[0-9]*\]//' | awk '
        /^\*/ {block = $0 "\n"; keep = 0; next}
        /^COMMIT/ {if (keep) printf "%sCOMMIT\n", block; next}
        {block = block $0 "\n"; if ($0 ~ /^-A/ || ($0 ~ /^:/ && $2 != "ACCEPT")) keep = 1}'
    done
    echo "## sysctls"
    # shellcheck disable=SC2046
    sysctl $(bash hack/cluster.sh sysctls) 2>/dev/null || true
    echo "## cgroups"; find /sys/fs/cgroup -maxdepth 2 -type d -name 'kubepods*' | sort
    echo "## containers"; docker ps -aq | sort
    echo "## processes"
    { pgrep -af 'kubelet|kube-apiserver|kube-controller|kube-scheduler|kube-proxy|coredns|etcd|prometheus|ember-cluster|cluster/containerd/config.toml' || true; } |
      { grep -v "pgrep\|e2e-local" || true; } | awk '{print $2}' | sort
  } > "$1"
}

bash hack/cluster.sh build
snapshot "$work/before"
cluster_up=false
finish() {
  local rc=$?
  if $cluster_up; then
    if ((rc != 0)); then
      log "failed; logs of the node's components are in .cache/cluster/*.log"
      cp .cache/cluster/*.log "$work/" 2>/dev/null || true
    fi
    bash hack/cluster.sh down || rc=1
    snapshot "$work/after"
    if ! diff -u "$work/before" "$work/after" >&2; then
      log "error: hack/cluster.sh down left the machine changed (diff above)"
      rc=1
    else
      log "down left no process, mount, link, iptables rule, sysctl, cgroup or container behind"
    fi
  fi
  # Last, so that it is in the tail CI keeps.
  if ((rc != 0)); then
    log "FAILED in $step: $(cat "$work/error" 2>/dev/null || echo "exit $rc (output above)")"
  fi
  rm -rf "$work"
  exit "$rc"
}
trap finish EXIT
cluster_up=true
step="hack/cluster.sh up"
bash hack/cluster.sh up
eval "$(bash hack/cluster.sh env)"
PROMETHEUS=$(bash hack/cluster.sh prometheus)
export PROMETHEUS
bash hack/cluster.sh load "ember-driver:$version" "ember-executor:$version" "ember-operator:$version"

# The examples' claim binds to a hostPath volume on the node: the local node
# has no provisioner.
data=$repo/.cache/cluster/volumes/wordcount-data
mkdir -p "$data" && chmod 0777 "$data"
kubectl apply -f - >/dev/null <<EOF2
apiVersion: v1
kind: PersistentVolume
metadata: {name: e2e-wordcount-data}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: $data, type: Directory}
EOF2

step="hack/e2e.sh"
if (($# > 0)); then
  bash hack/e2e.sh "$@"
else
  bash hack/e2e.sh install spark-pi submit wordcount executor-deleted driver-deleted operator-deleted \
    bad-image unschedulable security load monitoring web-ui
  step="bench/e2e.sh"
  bash bench/e2e.sh
  step="hack/e2e.sh uninstall"
  bash hack/e2e.sh uninstall
fi
step="clean-up"
kubectl delete pv e2e-wordcount-data --wait=false >/dev/null
rm -rf "$data"
