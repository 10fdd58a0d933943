#!/usr/bin/env bash
# Start latency on a real node, printed, never asserted (hack/e2e-local.sh
# runs it on the local node with the operator installed):
#   - a bare pod, kubectl apply -> Succeeded: the node's floor;
#   - SparkPi, kubectl apply -> driver Running -> first task -> COMPLETED.
# "First task" is when the driver has both started its job and registered an
# executor, read from the kubelet's timestamps of the driver's log lines.
#
#   KUBECONFIG=... bench/e2e.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
version=$(sed -n 's/^project(ember VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
ns=ember-bench
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
trap 'kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true' EXIT

python3 - "$ns" "$runs" "$version" <<'PY'
import datetime, json, statistics, subprocess, sys, time

ns, runs, version = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def kubectl(*args, stdin=None):
    return subprocess.run(["kubectl", "-n", ns, *args], input=stdin, capture_output=True, text=True, check=True).stdout

def wait_for(kind, name, path, want, timeout=120):
    # A watch, so each change is seen when it happens rather than at the next poll.
    # By field selector, so the watch may start before the object exists.
    proc = subprocess.Popen(["kubectl", "-n", ns, "get", kind, "--field-selector", f"metadata.name={name}", "--watch",
                             "-o", "jsonpath={.items[*]" + path + "}{" + path + "}{\"\\n\"}"],
                            stdout=subprocess.PIPE, text=True)
    deadline = time.time() + timeout
    try:
        for line in proc.stdout:
            if line.strip() in want:
                return time.time(), line.strip()
            if time.time() > deadline:
                break
    finally:
        proc.kill()
    raise SystemExit(f"bench: {kind}/{name} did not reach {want} within {timeout} s")

def parse_ts(ts):
    return datetime.datetime.fromisoformat(ts[:26].rstrip("Z") + "+00:00").timestamp()

bare, running, first_task, completed = [], [], [], []
for i in range(runs):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"bare-{i}"},
           "spec": {"restartPolicy": "Never", "containers": [
               {"name": "c", "image": f"ember-driver:{version}", "command": ["true"]}]}}
    t0 = time.time()
    kubectl("apply", "-f", "-", stdin=json.dumps(pod))
    t, _ = wait_for("pod", f"bare-{i}", ".status.phase", {"Succeeded", "Failed"})
    bare.append(t - t0)
    kubectl("delete", "pod", f"bare-{i}", "--wait=false")

    app = {"apiVersion": "ember.dev/v1alpha1", "kind": "SparkApplication", "metadata": {"name": f"pi-{i}"},
           "spec": {"image": f"ember-driver:{version}", "mainApplicationFile": "local:///opt/ember/examples/libsparkpi.so",
                    "arguments": ["10"], "timeToLiveSeconds": 60,
                    "driver": {"cores": 1, "coreRequest": "100m", "memory": "256m"},
                    "executor": {"image": f"ember-executor:{version}", "instances": 2, "cores": 1,
                                 "coreRequest": "100m", "memory": "256m"}}}
    t0 = time.time()
    kubectl("apply", "-f", "-", stdin=json.dumps(app))
    t_run, _ = wait_for("pod", f"pi-{i}-driver", ".status.phase", {"Running", "Succeeded", "Failed"})
    t_done, state = wait_for("sparkapp", f"pi-{i}", ".status.applicationState.state", {"COMPLETED", "FAILED", "SUBMISSION_FAILED"})
    if state != "COMPLETED":
        raise SystemExit(f"bench: pi-{i} ended {state}")
    started = registered = None
    for line in kubectl("logs", f"pi-{i}-driver", "--timestamps").splitlines():
        ts, _, text = line.partition(" ")
        if started is None and "job 0 " in text and text.endswith("started"):
            started = parse_ts(ts)
        if registered is None and "executor " in text and " registered with " in text:
            registered = parse_ts(ts)
    if started is None or registered is None:
        raise SystemExit(f"bench: pi-{i}'s driver log has no job start or executor registration")
    running.append(t_run - t0)
    first_task.append(max(started, registered) - t0)
    completed.append(t_done - t0)
    kubectl("delete", "sparkapp", f"pi-{i}", "--wait=false")

def p50(xs):
    return statistics.median(xs)

print(f"e2e start latency on the local node, p50 of {runs} runs (min-max):")
for name, xs in [("bare pod apply -> Succeeded (floor)", bare), ("SparkPi apply -> driver Running", running),
                 ("SparkPi apply -> first task", first_task), ("SparkPi apply -> COMPLETED", completed)]:
    print(f"  {name:40s} {p50(xs):6.2f} s  ({min(xs):.2f}-{max(xs):.2f})")
print(f"  SparkPi COMPLETED minus the floor        {p50(completed) - p50(bare):6.2f} s (target: under 1.5 s)")
PY
