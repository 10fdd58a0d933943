#!/usr/bin/env bash
# End to end on a real cluster whose node already has Ember's images (the
# local node of hack/cluster.sh, or kind after `kind load`): the chart is
# installed unchanged with Helm, applications are applied with kubectl into a
# namespace that enforces the `restricted` Pod Security Standard, and real
# pods compute checked results, under faults and under load.
#
#   KUBECONFIG=... hack/e2e.sh [SCENARIO...]
#
# Scenarios, in the order they run when none is named:
#   install           helm install --wait, helm test, the restricted job namespace
#   spark-pi          manifests/examples/spark-pi.yaml to COMPLETED, pi in its log,
#                     counted in the operator's /metrics
#   submit            SparkPi with `ember-submit --master k8s://https://HOST:PORT` from
#                     the driver image: it streams the driver's log and exits 0
#   wordcount         manifests/examples/wordcount.yaml on several MB of text;
#                     the output equals an independent count
#   executor-deleted  an executor pod deleted mid-WordCount: exact output
#   driver-deleted    the driver of an OnFailure app deleted: retried, COMPLETED
#   operator-deleted  the operator pod deleted mid-flight: the new one carries
#                     on, no duplicate pods
#   bad-image         an image that does not exist: SUBMISSION_FAILED in time
#   unschedulable     a driver larger than the node: SUBMISSION_FAILED, Unschedulable
#   security          non-root, read-only root; an executor without the secret is refused
#   load              EMBER_E2E_LOAD (50) SparkPi apps at once: all COMPLETED,
#                     no pod left after their TTL
#   monitoring        Prometheus discovers and scrapes the operator, driver and
#                     executors; every dashboard query and alert expression runs
#                     (needs the host to reach pod IPs: the local node, not kind;
#                     $PROMETHEUS, a Prometheus built with Kubernetes discovery)
#   uninstall         the job namespace and the release go, with nothing left
#
# `install` runs first whatever is named, unless the release is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

ns=ember-system
jobs=ember-e2e
timeout=${EMBER_E2E_TIMEOUT:-300s}
helm=${HELM:-$(command -v helm || bash hack/helm.sh build)}
version=$(sed -n 's/^project(ember VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
work=$(mktemp -d "${TMPDIR:-/tmp}/ember-e2e.XXXXXX")
bg_pids=()
cleanup() {
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# A command that fails outside a check says where, rather than ending the
# run without a word.
set -E
# In a command substitution's subshell the failure is only passed up: the
# main shell reports it, once.
trap 'if [[ $BASHPID == "$$" ]]; then die "\"$BASH_COMMAND\" failed (hack/e2e.sh line $LINENO)"; fi' ERR

log() { echo "e2e: $*" >&2; }
current_scenario=""
# CI keeps only the tail of a run's output, so the state of the cluster
# comes first and the error last; $EMBER_E2E_ERROR_FILE, when set, receives
# the error for the caller to print after its own clean-up.
die() {
  {
    kubectl get sparkapp,pods -A -o wide || true
    echo "--- warning events"
    kubectl get events -A --field-selector type=Warning --sort-by=.lastTimestamp 2>/dev/null | tail -15 || true
    operator_report
  } >&2
  log "error in scenario '${current_scenario:-setup}': $*"
  [[ -z ${EMBER_E2E_ERROR_FILE:-} ]] || echo "scenario '${current_scenario:-setup}': $*" > "$EMBER_E2E_ERROR_FILE"
  exit 1
}
# Restarts of the operator, and why its previous container ended.
operator_report() {
  local pod
  for pod in $(kubectl -n "$ns" get pods -l app.kubernetes.io/name=ember-operator -o name 2>/dev/null); do
    local restarts
    restarts=$(kubectl -n "$ns" get "$pod" -o jsonpath='{.status.containerStatuses[0].restartCount}')
    [[ ${restarts:-0} != 0 ]] || continue
    echo "--- $pod restarted $restarts times; last end: $(kubectl -n "$ns" get "$pod" \
      -o jsonpath='{.status.containerStatuses[0].lastState.terminated.reason} exit {.status.containerStatuses[0].lastState.terminated.exitCode}')"
    kubectl -n "$ns" logs "$pod" --previous 2>&1 | tail -12
  done
}
k() { kubectl -n "$jobs" "$@"; }
state_of() { k get sparkapp "$1" -o jsonpath='{.status.applicationState.state}' 2>/dev/null; }

wait_state() { # APP STATE [TIMEOUT]
  k wait sparkapp/"$1" --for=jsonpath='{.status.applicationState.state}'="$2" --timeout "${3:-$timeout}" >/dev/null ||
    die "$1 did not reach $2 (it is $(state_of "$1"): $(k get sparkapp "$1" -o jsonpath='{.status.applicationState.errorMessage}'))"
}

# The seconds from APP's last submission to its termination, from its status
# (whole seconds, as Kubernetes writes times).
submission_to_end() { # APP
  k get sparkapp "$1" -o json | python3 -c '
import datetime, json, sys
s = json.load(sys.stdin)["status"]
t = lambda k: datetime.datetime.strptime(s[k], "%Y-%m-%dT%H:%M:%SZ")
print(int((t("terminationTime") - t("lastSubmissionAttemptTime")).total_seconds()))'
}

# Until APP's driver has started its first job (or APP has completed), for
# at most a minute: a fault injected after it lands while tasks run.
wait_job_started() { # APP
  for _ in $(seq 1 600); do
    k logs "$1-driver" 2>/dev/null | grep 'job 0 .* started' >/dev/null && return 0
    [[ $(state_of "$1") == COMPLETED ]] && return 0
    sleep 0.1
  done
}

wait_pod_phase() { # POD PHASE
  k wait pod/"$1" --for=jsonpath='{.status.phase}'="$2" --timeout "$timeout" >/dev/null ||
    die "pod $1 did not reach $2"
}

# A restricted-compliant container securityContext, for the test's own pods.
restricted_ctx='{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 65532, capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}'

# A scenario run again starts from scratch.
fresh() { # NAME
  k delete sparkapp "$1" --ignore-not-found --wait=true --timeout "$timeout" >/dev/null
}

# SparkPi under NAME with SLICES slices, extra spec YAML (indented two
# spaces), and extra driver and executor fields (", coreLimit: 100m").
spark_pi() { # NAME SLICES [EXTRA_SPEC] [DRIVER_EXTRA] [EXECUTOR_EXTRA]
  fresh "$1"
  k apply -f - >/dev/null <<EOF
apiVersion: ember.dev/v1alpha1
kind: SparkApplication
metadata: {name: $1}
spec:
  image: ember-driver:$version
  mainApplicationFile: local:///opt/ember/examples/libsparkpi.so
  arguments: ["$2"]
  timeToLiveSeconds: 600
  driver: {cores: 1, coreRequest: 100m, memory: 256m${4:-}}
  executor: {image: "ember-executor:$version", instances: 2, cores: 1, coreRequest: 100m, memory: 256m${5:-}}
${3:-}
EOF
}

# A SparkPi that runs for minutes on a small share of the node: the
# security and monitoring checks need an application running throughout,
# and one of 1,000,000 slices with no CPU limit (as before) kept both cores
# busy, which starved the API server until the operator lost its lease.
# 50,000 slices at 0.1 core per executor: several minutes of work at about
# a quarter of the node.
long_pi() { # NAME [EXTRA_SPEC]
  spark_pi "$1" 50000 "${2:-}" ", coreLimit: 200m" ", coreLimit: 100m"
}

release_installed() { "$helm" status ember-operator -n "$ns" >/dev/null 2>&1; }

scenario_install() {
  kubectl get nodes -o wide >&2 || die "no cluster: kubectl get nodes failed"
  log "helm install"
  "$helm" upgrade --install ember-operator charts/ember-operator -n "$ns" --create-namespace \
    --wait --timeout "$timeout" >/dev/null || die "helm install failed"
  "$helm" test ember-operator -n "$ns" --timeout "$timeout" >/dev/null || die "helm test failed"
  kubectl create namespace "$jobs" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl label namespace "$jobs" --overwrite pod-security.kubernetes.io/enforce=restricted \
    pod-security.kubernetes.io/enforce-version=latest >/dev/null
  # The label is enforced: a pod that is not restricted-compliant is refused.
  if k run e2e-privileged --image "ember-driver:$version" --restart Never --privileged -- true >/dev/null 2>&1; then
    die "the $jobs namespace admitted a privileged pod: Pod Security is not enforced"
  fi
  log "installed; $jobs enforces the restricted Pod Security Standard"
}

scenario_spark_pi() {
  log "spark-pi"
  fresh spark-pi
  k apply -f manifests/examples/spark-pi.yaml >/dev/null
  wait_state spark-pi COMPLETED
  k logs spark-pi-driver | grep '^Pi is roughly 3\.14' >/dev/null || die "SparkPi printed no estimate of pi"
  # The operator counts it, as read through the API server's pod proxy
  # (kind's host cannot reach pod IPs, so this does not need Prometheus).
  local pod metrics
  pod=$(operator_pods)
  metrics=$(kubectl -n "$ns" get --raw "/api/v1/namespaces/$ns/pods/${pod%% *}:8080/proxy/metrics") ||
    die "could not read the operator's metrics"
  grep -Eq '^ember_operator_applications_finished_total\{state="COMPLETED"\} [1-9]' <<<"$metrics" ||
    die "the operator's metrics do not count the completed application"
  log "spark-pi COMPLETED, pi in the driver's log, counted in the operator's metrics"
}

scenario_submit() {
  log "submit: ember-submit --master k8s://"
  fresh pi-submit
  local server
  server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
  # A self-contained kubeconfig, readable by the image's user.
  kubectl config view --minify --flatten > "$work/kubeconfig"
  chmod 0644 "$work/kubeconfig"
  local code=0
  docker run --rm --network host -v "$work/kubeconfig:/tmp/kubeconfig:ro" -e KUBECONFIG=/tmp/kubeconfig \
    "ember-driver:$version" ember-submit --master "k8s://$server" --name pi-submit --namespace "$jobs" \
    --image "ember-driver:$version" --executor-image "ember-executor:$version" --num-executors 2 \
    --driver-memory 256m --executor-memory 256m --driver-request-cores 100m --executor-request-cores 100m \
    /opt/ember/examples/libsparkpi.so 50 \
    >"$work/submit.out" 2>"$work/submit.err" || code=$?
  ((code == 0)) || { cat "$work/submit.err" >&2; die "ember-submit exited $code"; }
  grep -q '^Pi is roughly 3\.14' "$work/submit.out" || die "ember-submit did not stream the driver's log: $(head -5 "$work/submit.out")"
  [[ $(state_of pi-submit) == COMPLETED ]] || die "ember-submit exited 0 but pi-submit is $(state_of pi-submit)"
  log "ember-submit ran SparkPi to COMPLETED, exit 0, with the driver's log on its stdout"
}

# The claim of manifests/examples/wordcount.yaml, with a pod that mounts it
# so the test can put the input there and read the output back.
data_pod() {
  k apply -f manifests/examples/wordcount.yaml -l ember.dev/example=wordcount-data >/dev/null
  k get pod wordcount-data >/dev/null 2>&1 && return 0
  k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: wordcount-data}
spec:
  securityContext: {fsGroup: 65532, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: data
      image: ember-driver:$version
      command: [sleep, infinity]
      securityContext: $restricted_ctx
      volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: wordcount-data}}]
EOF
  wait_pod_phase wordcount-data Running
}

# Several MB of text with many distinct words, and its count made here, by
# another program than Ember.
make_text() { # FILE MB
  python3 - "$1" "$2" <<'EOF'
import collections, random, sys
path, mb = sys.argv[1], int(sys.argv[2])
rng = random.Random(20261203)
vocab = ["w%x" % rng.getrandbits(40) for _ in range(200000)] + ["the", "a", "of"] * 1000
counts = collections.Counter()
size = 0
with open(path, "w") as f:
    while size < mb << 20:
        words = rng.choices(vocab, k=12)
        counts.update(words)
        line = " ".join(words) + "\n"
        f.write(line)
        size += len(line)
with open(path + ".want", "w") as f:
    for w in sorted(counts):
        f.write(f"{w}\t{counts[w]}\n")
EOF
}

# Runs a WordCount app over INPUT_DIR to OUTPUT_DIR on the claim.
wordcount_app() { # NAME INPUT_DIR OUTPUT_DIR [EXTRA_SPEC]
  fresh "$1"
  k exec wordcount-data -- rm -rf "$3"
  python3 - "$1" "$2" "$3" "${4:-}" > "$work/$1.yaml" <<'EOF'
import sys
name, inp, out, extra = sys.argv[1:5]
src = open("manifests/examples/wordcount.yaml").read().split("---\n")[1]
src = src.replace("name: wordcount\n", f"name: {name}\n", 1)
src = src.replace("arguments: [/data/input, /data/output]", f"arguments: [{inp}, {out}]")
if extra.lstrip().startswith("executor:"):
    # The executor block is the spec's last: the extra one replaces it.
    src = src[: src.index("\n  executor:\n") + 1]
print(src + extra)
EOF
  k apply -f "$work/$1.yaml" >/dev/null
}

check_output() { # OUTPUT_DIR WANT_FILE
  k exec wordcount-data -- sh -c "cat $1/part-*" | sort > "$work/got"
  sort "$2" > "$work/want"
  cmp -s "$work/got" "$work/want" ||
    die "the output in $1 differs from the independent count ($(wc -l <"$work/got") lines, want $(wc -l <"$work/want"); diff: $(diff "$work/got" "$work/want" | head -5))"
}

put_input() { # DIR MB
  local file=$work/input-$2.txt
  [[ -f $file ]] || make_text "$file" "$2"
  k exec wordcount-data -- sh -c "rm -rf $1 && mkdir -p $1"
  k cp "$file" "wordcount-data:$1/text.txt" >/dev/null || die "kubectl cp of the input failed"
}

scenario_wordcount() {
  log "wordcount on a PersistentVolumeClaim"
  data_pod
  put_input /data/input 8
  fresh wordcount
  k exec wordcount-data -- rm -rf /data/output
  k apply -f manifests/examples/wordcount.yaml >/dev/null
  wait_state wordcount COMPLETED
  check_output /data/output "$work/input-8.txt.want"
  log "wordcount COMPLETED; $(wc -l <"$work/input-8.txt.want") distinct words, output exact"
}

scenario_executor_deleted() {
  log "executor-deleted"
  data_pod
  put_input /data/input-chaos 64
  # The deletion must land while the job runs, which depends on how fast
  # the node is: a run where the job beat the deletion proves nothing and is
  # tried again. Every run's output must be exact.
  local attempt lost=""
  for attempt in 1 2 3; do
    # A CPU limit on the executors stretches the job to seconds.
    wordcount_app wc-chaos /data/input-chaos /data/output-chaos \
      "  executor: {image: ember-executor:$version, instances: 2, cores: 1, coreRequest: 100m, coreLimit: 100m, memory: 512m, volumeMounts: [{name: data, mountPath: /data}]}"
    # Deleted once the driver has started tasks on it, so the loss lands in
    # the middle of the job.
    wait_job_started wc-chaos
    k delete pod wc-chaos-exec-1 --wait=false >/dev/null || die "could not delete wc-chaos-exec-1"
    wait_state wc-chaos COMPLETED
    check_output /data/output-chaos "$work/input-64.txt.want"
    lost=$(k logs wc-chaos-driver | { grep -E 'executor 1 lost|executor 1 is shutting down' || true; } | head -1)
    [[ -n $lost ]] && break
    log "attempt $attempt: the job ended before executor 1 went (output exact); again"
  done
  [[ -n $lost ]] || { k logs wc-chaos-driver | tail -40 >&2; die "in 3 runs, wc-chaos's job always ended before executor 1 went (its last log above)"; }
  log "wc-chaos COMPLETED after executor 1 was deleted mid-job ($lost); output exact"
}

scenario_driver_deleted() {
  log "driver-deleted"
  # The deletion's SIGTERM (which the kubelet sends a moment after the API
  # call) must land before the job ends; how long the job takes depends on
  # the node, so executors limited to a quarter core stretch 3,000 slices to
  # seconds, and a run whose job ended first is tried again (up to 3).
  local attempt attempts=0 uid new_uid
  for attempt in 1 2 3; do
    spark_pi pi-retry 3000 "  restartPolicy: {type: OnFailure, onFailureRetries: 2, onFailureRetryInterval: 1}" \
      "" ", coreLimit: 250m"
    k wait pod/pi-retry-driver --for=jsonpath='{.status.phase}'=Running --timeout "$timeout" >/dev/null ||
      die "pi-retry's driver did not start"
    wait_job_started pi-retry
    uid=$(k get pod pi-retry-driver -o jsonpath='{.metadata.uid}')
    k delete pod pi-retry-driver --wait=false >/dev/null
    wait_state pi-retry COMPLETED
    attempts=$(k get sparkapp pi-retry -o jsonpath='{.status.executionAttempts}')
    ((attempts >= 2)) && break
    log "attempt $attempt: pi-retry's job ended before its driver went (executionAttempts=$attempts); again"
  done
  ((attempts >= 2)) || die "in 3 runs, pi-retry's job always ended before its driver was deleted"
  new_uid=$(k get pod pi-retry-driver -o jsonpath='{.metadata.uid}' 2>/dev/null || true)
  [[ -n $new_uid ]] || die "pi-retry completed after a retry, but has no driver pod"
  [[ $new_uid != "$uid" ]] || die "pi-retry's driver pod is the one that was deleted"
  k logs pi-retry-driver | grep '^Pi is roughly 3\.14' >/dev/null || die "the retried pi-retry printed no estimate of pi"
  log "pi-retry retried after its driver was deleted: COMPLETED, executionAttempts=$attempts"
}

operator_pods() {
  kubectl -n "$ns" get pods -l app.kubernetes.io/name=ember-operator --field-selector=status.phase=Running \
    -o jsonpath='{.items[*].metadata.name}'
}

scenario_operator_deleted() {
  log "operator-deleted"
  local old
  old=$(operator_pods)
  spark_pi pi-op 2000
  k wait pod/pi-op-driver --for=jsonpath='{.status.phase}'=Running --timeout "$timeout" >/dev/null ||
    die "pi-op's driver did not start"
  kubectl -n "$ns" delete pod "$old" --wait=false >/dev/null
  wait_state pi-op COMPLETED
  local now
  now=$(operator_pods)
  [[ -n $now && $now != "$old" ]] || die "no new operator pod took over (was $old, now '$now')"
  local drivers next_id attempts
  drivers=$(k get pods -l ember.dev/app-name=pi-op,ember.dev/role=driver -o name | wc -l)
  next_id=$(k get sparkapp pi-op -o jsonpath='{.status.executors.nextId}')
  attempts=$(k get sparkapp pi-op -o jsonpath='{.status.submissionAttempts}')
  [[ $drivers -eq 1 ]] || die "pi-op has $drivers driver pods after the operator restart"
  # Executor ids are never reused: a next id past 3 means executors were made twice.
  [[ $next_id == 3 ]] || die "pi-op created executors up to id $((next_id - 1)) for 2 instances"
  [[ $attempts == 1 ]] || die "pi-op was submitted $attempts times"
  log "operator $old deleted mid-flight; $now carried pi-op to COMPLETED with one driver and two executors"
}

scenario_bad_image() {
  log "bad-image"
  fresh bad-image
  k apply -f - >/dev/null <<EOF
apiVersion: ember.dev/v1alpha1
kind: SparkApplication
metadata: {name: bad-image}
spec:
  image: ember-driver:does-not-exist
  imagePullPolicy: Never
  mainApplicationFile: local:///opt/ember/examples/libsparkpi.so
  timeouts: {submission: 20s}
  driver: {cores: 1, coreRequest: 50m, memory: 128m}
  executor: {instances: 1, cores: 1, coreRequest: 50m, memory: 128m}
EOF
  wait_state bad-image SUBMISSION_FAILED 90s
  local msg
  msg=$(k get sparkapp bad-image -o jsonpath='{.status.applicationState.errorMessage}')
  grep -Eq 'ErrImageNeverPull|ImagePullBackOff' <<<"$msg" || die "bad-image failed without naming the image problem: $msg"
  local took
  took=$(submission_to_end bad-image) || die "bad-image's status has no submission or termination time"
  ((took <= 20)) || die "bad-image took ${took} s to fail, past its 20 s submission timeout"
  log "bad-image SUBMISSION_FAILED ${took} s after its submission: $msg"
}

scenario_unschedulable() {
  log "unschedulable"
  fresh too-big
  k apply -f - >/dev/null <<EOF
apiVersion: ember.dev/v1alpha1
kind: SparkApplication
metadata: {name: too-big}
spec:
  image: ember-driver:$version
  mainApplicationFile: local:///opt/ember/examples/libsparkpi.so
  timeouts: {submission: 20s}
  driver: {cores: 1, memory: 4096g}
  executor: {image: "ember-executor:$version", instances: 1, cores: 1, memory: 256m}
EOF
  wait_state too-big SUBMISSION_FAILED 90s
  local msg
  msg=$(k get sparkapp too-big -o jsonpath='{.status.applicationState.errorMessage}')
  grep -q 'Unschedulable' <<<"$msg" || die "too-big failed without saying it is unschedulable: $msg"
  grep -qi 'memory' <<<"$msg" || die "too-big's reason does not say what is short: $msg"
  local took
  took=$(submission_to_end too-big) || die "too-big's status has no submission or termination time"
  # It waits out its timeout (the scheduler may yet find room), then ends.
  ((took >= 19 && took <= 30)) || die "too-big ended ${took} s after its submission, not at its 20 s timeout"
  log "too-big SUBMISSION_FAILED ${took} s after its submission: $msg"
}

scenario_security() {
  log "security"
  # Long enough that its driver is there for the intruder below.
  long_pi pi-sec
  k wait pod/pi-sec-exec-1 --for=jsonpath='{.status.phase}'=Running --timeout "$timeout" >/dev/null ||
    die "pi-sec's executor did not start"
  local pod
  for pod in pi-sec-driver pi-sec-exec-1; do
    local uid
    uid=$(k exec "$pod" -- id -u) || die "kubectl exec into $pod failed"
    [[ $uid != 0 ]] || die "$pod runs as root"
    if k exec "$pod" -- sh -c 'echo x > /opt/ember/e2e-write' 2>/dev/null; then
      die "$pod could write to its root file system"
    fi
  done
  # An executor pod like pi-sec's own, but with a wrong secret instead of the
  # application's Secret, and none of the labels that would make it the
  # operator's.
  k get pod pi-sec-exec-1 -o json | python3 -c '
import json, sys
pod = json.load(sys.stdin)
spec = pod["spec"]
for key in ("nodeName", "hostname", "subdomain"):
    spec.pop(key, None)
spec["restartPolicy"] = "Never"
secret_volumes = {v["name"] for v in spec.get("volumes", []) if "secret" in v}
spec["volumes"] = [v for v in spec.get("volumes", []) if v["name"] not in secret_volumes and not v["name"].startswith("kube-api-access")]
for c in spec["containers"]:
    c["volumeMounts"] = [m for m in c.get("volumeMounts", []) if m["name"] not in secret_volumes and not m["name"].startswith("kube-api-access")]
    c["args"] = ["--secret=not-the-applications-secret" if a.startswith("--secret-file=") else
                 "--executor-id=99" if a.startswith("--executor-id=") else a for a in c["args"]]
print(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "intruder"}, "spec": spec}))
' > "$work/intruder.json"
  k delete pod intruder --ignore-not-found --wait=true >/dev/null
  k apply -f "$work/intruder.json" >/dev/null || die "could not create the intruder pod"
  k wait pod/intruder --for=jsonpath='{.status.phase}'=Failed --timeout 120s >/dev/null ||
    die "an executor without the secret was not refused (phase $(k get pod intruder -o jsonpath='{.status.phase}'))"
  local code intruder_log
  code=$(k get pod intruder -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}')
  intruder_log=$(k logs intruder 2>&1 | tail -1)
  [[ $code != 0 ]] || die "the executor without the secret exited 0"
  grep -q 'UNAUTHENTICATED.*wrong application secret' <<<"$intruder_log" ||
    die "the refused executor's last line does not say why: $intruder_log"
  [[ $(state_of pi-sec) == RUNNING ]] || die "pi-sec ended ($(state_of pi-sec)) before the intruder was refused"
  k delete sparkapp pi-sec --wait=false >/dev/null
  log "pods run as non-root on read-only roots; an executor without the secret exited $code: $intruder_log"
}

scenario_load() {
  local n=${EMBER_E2E_LOAD:-50} i t0
  log "load: $n SparkPi applications at once"
  : > "$work/load.yaml"
  for i in $(seq 1 "$n"); do
    cat >> "$work/load.yaml" <<EOF
apiVersion: ember.dev/v1alpha1
kind: SparkApplication
metadata: {name: load-$i, labels: {e2e: load}}
spec:
  image: ember-driver:$version
  mainApplicationFile: local:///opt/ember/examples/libsparkpi.so
  arguments: ["20"]
  timeToLiveSeconds: 20
  driver: {cores: 1, coreRequest: 100m, memory: 128m, memoryOverhead: 64m}
  executor: {image: "ember-executor:$version", instances: 1, cores: 1, coreRequest: 100m, memory: 128m, memoryOverhead: 64m}
---
EOF
  done
  k delete sparkapp -l e2e=load --wait=true --timeout "$timeout" >/dev/null
  t0=$(date +%s.%N)
  k apply -f "$work/load.yaml" >/dev/null
  # The first ones finish, and their TTL deletes them, before the last ones
  # start: completions are counted by name as they are seen.
  local deadline=$((SECONDS + 600)) done_count=0
  : > "$work/load.done"
  while ((SECONDS < deadline)); do
    local states
    states=$(k get sparkapp -l e2e=load -o jsonpath='{range .items[*]}{.metadata.name} {.status.applicationState.state}{"\n"}{end}')
    grep -E ' (FAILED|SUBMISSION_FAILED)$' <<<"$states" && die "load applications failed (above)"
    awk '$2 == "COMPLETED" {print $1}' <<<"$states" >> "$work/load.done"
    done_count=$(sort -u "$work/load.done" | wc -l)
    ((done_count == n)) && break
    sleep 1
  done
  ((done_count == n)) || die "only $done_count of $n load applications completed within 600 s"
  local wall
  wall=$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")
  log "load: $n applications COMPLETED in $wall s ($(python3 -c "print(f'{$n * 60 / $wall:.0f}')") applications/min)"
  # Their TTL deletes the applications, and the pods with them.
  local left
  for _ in $(seq 1 120); do
    left=$(k get sparkapp,pods -l e2e=load -o name | wc -l)
    left=$((left + $(k get pods -o name | grep -c '^pod/load-' || true)))
    ((left == 0)) && break
    sleep 1
  done
  ((left == 0)) || die "$left load objects are left after their TTL"
  log "load: nothing left after the TTL"
}

scenario_monitoring() {
  log "monitoring"
  # A Prometheus with Kubernetes service discovery (Debian's has none):
  # hack/cluster.sh builds one.
  local prometheus=${PROMETHEUS:-prometheus}
  command -v "$prometheus" >/dev/null || die "no Prometheus at '$prometheus' (set PROMETHEUS)"
  local server ca cert key
  server=$(kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.server}')
  ca=$(kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority}')
  cert=$(kubectl config view --minify --raw -o jsonpath='{.users[0].user.client-certificate}')
  key=$(kubectl config view --minify --raw -o jsonpath='{.users[0].user.client-key}')
  [[ -f $ca && -f $cert && -f $key ]] || die "monitoring needs a kubeconfig with certificate files (the local node's)"
  local port
  port=$("$repo/hack/free-port.sh") || die "no free loopback port for Prometheus"
  cat > "$work/prometheus.yml" <<EOF
global: {scrape_interval: 2s, evaluation_interval: 2s}
rule_files: [$repo/monitoring/alerts/ember-alerts.yaml]
scrape_configs:
  - job_name: kubernetes-pods
    kubernetes_sd_configs:
      - role: pod
        api_server: $server
        tls_config: {ca_file: $ca, cert_file: $cert, key_file: $key}
    relabel_configs:
      - {source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape], regex: "true", action: keep}
      - {source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path], regex: "(.+)", target_label: __metrics_path__}
      - source_labels: [__meta_kubernetes_pod_ip, __meta_kubernetes_pod_annotation_prometheus_io_port]
        regex: "(.+);(.+)"
        replacement: "\$1:\$2"
        target_label: __address__
      - {source_labels: [__meta_kubernetes_namespace], target_label: namespace}
      - {source_labels: [__meta_kubernetes_pod_name], target_label: pod}
EOF
  "$prometheus" --config.file "$work/prometheus.yml" --storage.tsdb.path "$work/tsdb" \
    --web.listen-address "127.0.0.1:$port" >"$work/prometheus.log" 2>&1 &
  bg_pids+=($!)
  local api=http://127.0.0.1:$port/api/v1
  # Long enough to be scraped throughout the checks; deleted after them.
  long_pi pi-mon "  monitoring: {exposeDriverMetrics: true, exposeExecutorMetrics: true}"
  k wait pod/pi-mon-exec-2 --for=jsonpath='{.status.phase}'=Running --timeout "$timeout" >/dev/null ||
    die "pi-mon's executors did not start"
  local q found=false
  for _ in $(seq 1 60); do
    q=$(curl -fsS "$api/query" --data-urlencode 'query=count by (pod) ({__name__=~"ember_.+"})' 2>/dev/null) || q=""
    if grep -q '"pod":"pi-mon-driver"' <<<"$q" && grep -q '"pod":"pi-mon-exec-1"' <<<"$q" &&
      grep -q '"pod":"pi-mon-exec-2"' <<<"$q" && grep -q '"pod":"ember-operator' <<<"$q"; then
      found=true
      break
    fi
    sleep 1
  done
  $found || { tail -20 "$work/prometheus.log" >&2; die "Prometheus did not find ember_ series of the operator, driver and executors: $q"; }
  log "Prometheus scrapes ember_ series of the operator, pi-mon-driver and pi-mon-exec-1/2"
  # The key panels have data while the job runs.
  for q in ember_operator_is_leader ember_executors_registered ember_tasks_running ember_operator_applications; do
    curl -fsS "$api/query" --data-urlencode "query=$q" | grep '"result":\[{' >/dev/null || die "key panel series $q has no data"
  done
  # Every dashboard query and alert expression evaluates without error.
  python3 - "$repo/monitoring/dashboards/ember.json" "$repo/monitoring/alerts/ember-alerts.yaml" > "$work/exprs" <<'EOF'
import json, re, sys
for p in json.load(open(sys.argv[1]))["panels"]:
    for t in p.get("targets", []):
        print(("panel", p["title"], t["expr"]).__repr__())
for line in open(sys.argv[2]):
    m = re.match(r"\s*expr: (.*)$", line)
    if m:
        print(("alert", "", m.group(1)).__repr__())
EOF
  local n=0 with_data=0 kind title expr
  while IFS= read -r line; do
    kind=$(python3 -c 'import ast,sys; print(ast.literal_eval(sys.argv[1])[0])' "$line")
    title=$(python3 -c 'import ast,sys; print(ast.literal_eval(sys.argv[1])[1])' "$line")
    expr=$(python3 -c 'import ast,sys; print(ast.literal_eval(sys.argv[1])[2].replace("$job", ".*"))' "$line")
    q=$(curl -sS "$api/query" --data-urlencode "query=$expr") || die "Prometheus did not answer for $expr"
    grep -q '"status":"success"' <<<"$q" || die "$kind '$title' query failed: $expr: $q"
    n=$((n + 1))
    grep -q '"result":\[\]' <<<"$q" || with_data=$((with_data + 1))
  done < "$work/exprs"
  [[ $(state_of pi-mon) == RUNNING ]] || die "pi-mon ended ($(state_of pi-mon)) during the checks"
  k delete sparkapp pi-mon --wait=false >/dev/null
  log "monitoring: $n dashboard and alert queries ran, $with_data returned data"
}

scenario_web_ui() {
  log "web-ui"
  long_pi ui-pi
  wait_job_started ui-pi
  local address
  address=$(k get sparkapp ui-pi -o jsonpath='{.status.driverInfo.webUIAddress}')
  [[ $address == "ui-pi-driver-svc.$jobs.svc:4040" ]] || die "webUIAddress is '$address'"
  # As docs/ui.md tells users: kubectl port-forward to the driver's Service.
  local port pf app jobs_json done_tasks=-1
  port=$("$repo/hack/free-port.sh") || die "no free loopback port"
  k port-forward svc/ui-pi-driver-svc "$port:4040" >"$work/port-forward.log" 2>&1 &
  pf=$!
  for _ in $(seq 1 100); do
    app=$(curl -sf --max-time 2 "http://127.0.0.1:$port/api/v1/applications" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])' 2>/dev/null) && break
    sleep 0.2
  done
  [[ -n ${app:-} ]] || { kill "$pf"; cat "$work/port-forward.log" >&2; die "the UI did not answer through kubectl port-forward"; }
  for _ in $(seq 1 150); do
    jobs_json=$(curl -sf --max-time 2 "http://127.0.0.1:$port/api/v1/applications/$app/jobs") || true
    done_tasks=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d[0]["numCompletedTasks"] if d and d[0]["status"]=="RUNNING" else -1)' "$jobs_json" 2>/dev/null) || done_tasks=-1
    ((done_tasks > 0)) && break
    sleep 0.2
  done
  local executors page
  executors=$(curl -sf --max-time 2 "http://127.0.0.1:$port/api/v1/applications/$app/executors" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null) || executors=0
  page=$(curl -sf --max-time 2 "http://127.0.0.1:$port/" || true)
  kill "$pf" 2>/dev/null || true
  wait "$pf" 2>/dev/null || true
  ((done_tasks > 0)) || die "the UI showed no running job with finished tasks (last answer: ${jobs_json:-none})"
  ((executors == 2)) || die "the UI listed $executors executors, not 2"
  [[ $page == *static/app.js* ]] || die "the UI's page was not served"
  fresh ui-pi
  log "web UI at $address through port-forward: app $app, job 0 RUNNING with $done_tasks tasks done, 2 executors"
}

scenario_uninstall() {
  log "uninstall"
  kubectl delete namespace "$jobs" --wait=true --timeout "$timeout" >/dev/null ||
    die "namespace $jobs was not deleted within $timeout"
  "$helm" uninstall ember-operator -n "$ns" --wait --timeout "$timeout" >/dev/null || die "helm uninstall failed"
  kubectl delete namespace "$ns" --wait=true --timeout "$timeout" >/dev/null 2>&1 || true
  log "uninstalled"
}

all=(install spark-pi submit wordcount executor-deleted driver-deleted operator-deleted bad-image unschedulable
  security load monitoring web-ui uninstall)
(($# > 0)) || set -- "${all[@]}"
for s in "$@"; do
  declare -F "scenario_${s//-/_}" >/dev/null || die "no scenario '$s' (scenarios: ${all[*]})"
done
if [[ $1 != install ]] && ! release_installed; then scenario_install; fi
for s in "$@"; do
  current_scenario=$s
  "scenario_${s//-/_}"
done
current_scenario=""
log "passed: $*"
