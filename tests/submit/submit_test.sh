#!/usr/bin/env bash
# ember-submit --master k8s://... against the test control plane (ctest
# label "controlplane"). There is no kubelet here, so this test moves the
# application's status itself, as the operator would, to check that
# ember-submit follows it; hack/e2e.sh `submit` runs it for real on a node.
#
#   tests/submit/submit_test.sh BUILD_DIR
#
#   - bad flags exit 2 naming the flag, and create nothing;
#   - --no-wait creates the SparkApplication the flags describe and exits 0;
#   - a manifest the CRD's validation refuses exits 2 with the API's reason;
#   - a name that is taken exits non-zero and says so;
#   - waiting: exit 0 on COMPLETED, 1 with the reason on FAILED and
#     SUBMISSION_FAILED, 1 when the application is deleted;
#   - SIGINT without a terminal leaves the application running, exit 130;
#     on a terminal (a pty from script(1)) it asks, and "y" deletes it.
set -euo pipefail

build=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
submit=$build/bin/ember-submit
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
log() { echo "--- $*" >&2; }
[[ -x $submit ]] || fail "$submit is not built"

work=$(mktemp -d "${TMPDIR:-/tmp}/ember-submit.XXXXXX")
ns=ember-submit-test
started_controlplane=false
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [[ -n ${KUBECONFIG:-} ]]; then kubectl delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1 || true; fi
  if $started_controlplane; then bash "$repo/hack/controlplane.sh" down >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if ! bash "$repo/hack/controlplane.sh" status >/dev/null 2>&1; then
  bash "$repo/hack/controlplane.sh" up >&2 || fail "the test control plane did not start"
  started_controlplane=true
fi
eval "$(bash "$repo/hack/controlplane.sh" env)"
kubectl apply --server-side -f "$repo/manifests/crds/ember.dev_sparkapplications.yaml" >/dev/null
kubectl wait --for condition=established crd/sparkapplications.ember.dev --timeout 60s >/dev/null
kubectl create namespace "$ns" >/dev/null
server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
pi=/opt/ember/examples/libsparkpi.so

# expect CODE PATTERN ARGS...: ember-submit exits CODE and its stderr matches PATTERN.
expect() {
  local want=$1 pattern=$2 code=0
  shift 2
  "$submit" "$@" >"$work/out" 2>"$work/err" </dev/null || code=$?
  [[ $code == "$want" ]] || { cat "$work/err" >&2; fail "ember-submit $* exited $code, expected $want"; }
  grep -Eq -- "$pattern" "$work/err" || { cat "$work/err" >&2; fail "ember-submit $* did not say /$pattern/"; }
}

log "bad flags"
expect 2 '--image is required' --master k8s:// --namespace "$ns" $pi
expect 2 "--name 'Bad_Name'" --master k8s:// --image x --name Bad_Name --namespace "$ns" $pi
expect 2 "--conf 'novalue': expected KEY=VALUE" --master k8s:// --image x --namespace "$ns" --conf novalue $pi
expect 2 'num-executors' --master k8s:// --image x --namespace "$ns" --num-executors 0 $pi
expect 2 'over https' --master k8s://http://127.0.0.1:1 --image x --namespace "$ns" $pi
expect 2 'name the application' --master k8s:// --image x --namespace "$ns"
[[ $(kubectl -n "$ns" get sparkapp -o name | wc -l) == 0 ]] || fail "bad flags created an application"

log "--no-wait creates what the flags say"
expect 0 "sparkapplication $ns/pi-one created" --master "k8s://$server" --image ember-driver:test --name pi-one \
  --namespace "$ns" --executor-image ember-executor:test --num-executors 3 --executor-cores 2 \
  --executor-memory 1g --driver-memory 512m --driver-request-cores 250m --executor-request-cores 500m --conf ember.shuffle.partitions=8 --class SparkPi --no-wait $pi 100 extra
kubectl -n "$ns" get sparkapp pi-one -o json > "$work/app.json"
python3 - "$work/app.json" <<'EOF' || fail "pi-one's spec is not what the flags say: $(cat "$work/app.json")"
import json, sys
s = json.load(open(sys.argv[1]))["spec"]
want = {"image": "ember-driver:test", "mainApplicationFile": "local:///opt/ember/examples/libsparkpi.so",
        "mainClass": "SparkPi", "arguments": ["100", "extra"], "sparkConf": {"ember.shuffle.partitions": "8"}}
for k, v in want.items():
    assert s[k] == v, (k, s[k], v)
assert s["executor"]["instances"] == 3 and s["executor"]["cores"] == 2, s["executor"]
assert s["executor"]["memory"] == "1g" and s["executor"]["image"] == "ember-executor:test", s["executor"]
assert s["driver"]["memory"] == "512m" and s["driver"]["coreRequest"] == "250m", s["driver"]
assert s["executor"]["coreRequest"] == "500m", s["executor"]
EOF
# A generated name comes from the application file.
expect 0 "sparkapplication $ns/sparkpi-[0-9a-f]{5} created" --master k8s:// --image x --namespace "$ns" --no-wait $pi
# --master after other flags and their values, as spark-submit allows; the
# application's own arguments may look like flags.
expect 0 "sparkapplication $ns/late-master created" --name late-master --image x --no-wait --namespace "$ns" \
  --master k8s:// $pi --master local 5
[[ $(kubectl -n "$ns" get sparkapp late-master -o jsonpath='{.spec.arguments}') == '["--master","local","5"]' ]] ||
  fail "late-master's arguments are not the application's: $(kubectl -n "$ns" get sparkapp late-master -o jsonpath='{.spec.arguments}')"

log "refused by the CRD's validation, or taken"
expect 2 'memory' --master k8s:// --image x --name bad-mem --namespace "$ns" --executor-memory lots --no-wait $pi
expect 1 '"pi-one" already exists' --master k8s:// --image x --name pi-one --namespace "$ns" --no-wait $pi
grep -q 'choose another --name' "$work/err" || fail "a taken name does not say what to do"

# submit_bg NAME: ember-submit waiting on NAME in the background; its pid in $bg.
submit_bg() {
  "$submit" --master k8s:// --image x --name "$1" --namespace "$ns" $pi >"$work/$1.out" 2>"$work/$1.err" </dev/null &
  bg=$!
  pids+=("$bg")
  for _ in $(seq 1 100); do
    kubectl -n "$ns" get sparkapp "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "ember-submit did not create $1"
}
set_state() { # NAME STATE [MESSAGE]
  kubectl -n "$ns" patch sparkapp "$1" --subresource=status --type=merge \
    -p "{\"status\":{\"applicationState\":{\"state\":\"$2\",\"errorMessage\":\"${3:-}\"}}}" >/dev/null
}
wait_exit() { # PID WANT NAME
  local code=0
  wait "$1" || code=$?
  [[ $code == "$2" ]] || { cat "$work/$3.err" >&2; fail "ember-submit for $3 exited $code, expected $2"; }
}

log "waiting: the application's outcome is the exit code"
submit_bg pi-done
set_state pi-done SUBMITTED
set_state pi-done RUNNING
set_state pi-done COMPLETED
wait_exit "$bg" 0 pi-done
grep -q "pi-done SUBMITTED" "$work/pi-done.err" || fail "ember-submit did not report SUBMITTED: $(cat "$work/pi-done.err")"
grep -q "pi-done COMPLETED" "$work/pi-done.err" || fail "ember-submit did not report COMPLETED"

submit_bg pi-failed
set_state pi-failed FAILED "driver exited with code 3"
wait_exit "$bg" 1 pi-failed
grep -q "FAILED: driver exited with code 3" "$work/pi-failed.err" || fail "no failure reason: $(cat "$work/pi-failed.err")"

submit_bg pi-subfail
set_state pi-subfail SUBMISSION_FAILED "driver pod cannot start: ErrImageNeverPull"
wait_exit "$bg" 1 pi-subfail
grep -q "SUBMISSION_FAILED: driver pod cannot start" "$work/pi-subfail.err" || fail "no reason: $(cat "$work/pi-subfail.err")"

submit_bg pi-deleted
kubectl -n "$ns" delete sparkapp pi-deleted >/dev/null
wait_exit "$bg" 1 pi-deleted
grep -q "was deleted" "$work/pi-deleted.err" || fail "ember-submit did not say the app was deleted"

log "SIGINT without a terminal leaves the application"
submit_bg pi-interrupted
kill -INT "$bg"
wait_exit "$bg" 130 pi-interrupted
grep -q "left running" "$work/pi-interrupted.err" || fail "ember-submit did not say it left the app: $(cat "$work/pi-interrupted.err")"
kubectl -n "$ns" get sparkapp pi-interrupted >/dev/null || fail "the interrupted submission deleted its application"

log "SIGINT on a terminal asks, and y deletes the application"
command -v script >/dev/null || fail "script(1) is not installed (util-linux)"
mkfifo "$work/tty.in"
script -qefc "$submit --master k8s:// --image x --name pi-tty --namespace $ns $pi" /dev/null \
  <"$work/tty.in" >"$work/tty.out" 2>&1 &
tty_pid=$!
pids+=("$tty_pid")
exec 7>"$work/tty.in"
for _ in $(seq 1 100); do
  kubectl -n "$ns" get sparkapp pi-tty >/dev/null 2>&1 && break
  sleep 0.1
done
submit_pid=$(pgrep -f "^$submit .*--name pi-tty" | head -1)
[[ -n $submit_pid ]] || fail "no ember-submit process for pi-tty"
kill -INT "$submit_pid"
for _ in $(seq 1 100); do
  grep -q 'Delete sparkapplication' "$work/tty.out" && break
  sleep 0.1
done
grep -q "Delete sparkapplication $ns/pi-tty? \[y/N\]" "$work/tty.out" || fail "ember-submit did not ask: $(cat "$work/tty.out")"
echo y >&7
exec 7>&-
code=0
wait "$tty_pid" || code=$?
[[ $code == 130 ]] || fail "ember-submit on a terminal exited $code after Ctrl-C, expected 130: $(cat "$work/tty.out")"
grep -q "pi-tty deleted" "$work/tty.out" || fail "ember-submit did not say it deleted pi-tty: $(cat "$work/tty.out")"
for _ in $(seq 1 50); do
  kubectl -n "$ns" get sparkapp pi-tty >/dev/null 2>&1 || break
  sleep 0.1
done
if kubectl -n "$ns" get sparkapp pi-tty >/dev/null 2>&1; then fail "pi-tty is still there after y"; fi
log "passed"
