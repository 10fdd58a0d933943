#!/usr/bin/env bash
# The monitoring assets against real processes (ctest label "controlplane"):
#
#   tests/monitoring/monitoring_test.sh BUILD_DIR
#
#   - promtool check rules and promtool test rules on monitoring/alerts;
#   - the dashboard is JSON whose every panel has a PromQL target;
#   - /metrics of a running ember-operator (against the test control plane),
#     of an ember-driver while a job runs and of its ember-executor, each
#     passing `promtool check metrics`;
#   - every metric name the dashboard and the alerts use is in those scrapes;
#   - ember-operator --check-url (the chart's helm test) against the operator.
set -euo pipefail

build=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
log() { echo "--- $*" >&2; }

command -v promtool >/dev/null || fail "promtool is not installed (Debian's prometheus package; hack/install-deps.sh installs it)"
command -v curl >/dev/null || fail "curl is not installed"
for b in ember-operator ember-driver ember-executor; do
  [[ -x $build/bin/$b ]] || fail "$build/bin/$b is not built"
done
ops_app=$build/tests/apps/libops_app.so
[[ -f $ops_app ]] || fail "$ops_app is not built"

work=$(mktemp -d "${TMPDIR:-/tmp}/ember-monitoring.XXXXXX")
pids=()
started_controlplane=false
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if $started_controlplane; then bash "$repo/hack/controlplane.sh" down >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- rules and dashboard, on their own -------------------------------------
promtool check rules "$repo/monitoring/alerts/ember-alerts.yaml" >&2 || fail "promtool check rules failed"
(cd "$repo/monitoring/alerts" && promtool test rules ember-alerts_test.yaml) >&2 || fail "promtool test rules failed"
# Every alert has a unit test, and a runbook section in docs/monitoring.md.
for alert in $(sed -n 's/^ *- alert: //p' "$repo/monitoring/alerts/ember-alerts.yaml"); do
  grep -q "alertname: $alert\$" "$repo/monitoring/alerts/ember-alerts_test.yaml" || fail "alert $alert has no promtool test"
  grep -q "^### $alert\$" "$repo/docs/monitoring.md" || fail "alert $alert has no runbook in docs/monitoring.md"
done
dashboard=$repo/monitoring/dashboards/ember.json
exprs=$(python3 - "$dashboard" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["panels"]:
    if p["type"] == "row":
        continue
    if not p.get("targets"):
        sys.exit(f"panel '{p['title']}' has no query")
    for t in p["targets"]:
        print(t["expr"])
EOF
) || fail "the dashboard is not valid: $exprs"

# --- scrapes ---------------------------------------------------------------
free_port() { "$repo/hack/free-port.sh" || fail "no free port"; }
wait_http() { # URL SECONDS [TEXT]
  local deadline=$((SECONDS + $2))
  until curl -fsS --max-time 2 "$1" 2>/dev/null | grep "${3:-.}" >/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
fetch() { # NAME URL
  curl -fsS --max-time 5 "$2" >"$work/$1.prom" || fail "could not scrape $1 at $2"
}
check_metrics() { # NAME: promtool on what fetch saved
  local out
  if ! out=$(promtool check metrics <"$work/$1.prom" 2>&1); then
    echo "$out" >&2
    fail "promtool check metrics found problems in the $1's /metrics (above)"
  fi
  log "$1: $(grep -c '^# TYPE ember_' "$work/$1.prom") ember_ families, promtool check metrics clean"
}

if ! bash "$repo/hack/controlplane.sh" status >/dev/null 2>&1; then
  bash "$repo/hack/controlplane.sh" up >&2 || fail "the test control plane did not start"
  started_controlplane=true
fi
eval "$(bash "$repo/hack/controlplane.sh" env)"
kubectl apply -f "$repo/manifests/crds/ember.dev_sparkapplications.yaml" >/dev/null || fail "could not apply the CRD"
kubectl wait --for condition=established --timeout=60s crd/sparkapplications.ember.dev >/dev/null

op_metrics=$(free_port)
op_health=$(free_port)
"$build/bin/ember-operator" --leader-elect=false --metrics-bind-address=127.0.0.1 --metrics-port="$op_metrics" \
  --health-port="$op_health" --namespaces=ember-monitoring-test --log-level=warning >"$work/operator.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$op_health/readyz" 60 || { cat "$work/operator.log" >&2; fail "the operator never became ready"; }
fetch operator "http://127.0.0.1:$op_metrics/metrics"
check_metrics operator
# ember-operator --check-url, what the chart's helm test runs.
"$build/bin/ember-operator" --check-url "http://127.0.0.1:$op_metrics/metrics" --check-contains ember_operator_is_leader \
  >/dev/null || fail "ember-operator --check-url failed against a ready operator"
rc=0
out=$("$build/bin/ember-operator" --check-url "http://127.0.0.1:$op_metrics/metrics" --check-contains no_such_metric \
  --check-timeout 2s 2>&1) || rc=$?
((rc == 1)) && grep -q "answered 200 without 'no_such_metric'" <<<"$out" ||
  fail "--check-url with text that is not there: exit $rc, '$out'"
rc=0
out=$("$build/bin/ember-operator" --check-url "ftp://x" 2>&1) || rc=$?
((rc == 2)) && grep -q "must start with http:// or https://" <<<"$out" || fail "--check-url ftp://x: exit $rc, '$out'"
log "ember-operator --check-url: ready, missing text and bad URL each reported"

echo "monitoring-test-secret-0123456789" >"$work/secret"
driver_metrics=$(free_port)
driver_port=$(free_port)
exec_metrics=$(free_port)
mkdir -p "$work/markers"
"$build/bin/ember-driver" --master 'external[1]' --app-id mon-1 --secret-file "$work/secret" \
  --port "$driver_port" --metrics-port "$driver_metrics" --local-dir "$work/driver" --log-level warning \
  "$ops_app" slow 2000 4 1000 3000000 "$work/markers" >"$work/driver.log" 2>&1 &
pids+=($!)
"$build/bin/ember-executor" --driver "127.0.0.1:$driver_port" --executor-id 1 --app-id mon-1 --cores 2 \
  --secret-file "$work/secret" --metrics-port "$exec_metrics" --local-dir "$work/executor" \
  --log-level warning >"$work/executor.log" 2>&1 &
pids+=($!)
# Scrape in the reduce phase (8 tasks of 3 s on 2 cores: about 12 s): shuffle
# written and read, tasks run and running.
deadline=$((SECONDS + 120))
until compgen -G "$work/markers/reduce-*" >/dev/null; do
  ((SECONDS < deadline)) || { cat "$work/driver.log" "$work/executor.log" >&2; fail "the job never reached its reduce stage"; }
  sleep 0.2
done
# Both fetched before promtool runs on either: the phase lasts seconds, not
# minutes.
fetch driver "http://127.0.0.1:$driver_metrics/metrics"
fetch executor "http://127.0.0.1:$exec_metrics/metrics"
check_metrics driver
check_metrics executor

# --- names -----------------------------------------------------------------
cat "$work"/{operator,driver,executor}.prom | sed -n 's/^# TYPE \(ember_[a-z0-9_]*\) .*/\1/p' | sort -u >"$work/scraped"
used=$( (echo "$exprs"; sed -n 's/^ *expr: //p' "$repo/monitoring/alerts/ember-alerts.yaml") |
  grep -o 'ember_[a-z0-9_]*' | sed -E 's/_(bucket|sum|count)$//' | sort -u)
missing=()
for name in $used; do
  grep -qx "$name" "$work/scraped" || missing+=("$name")
done
((${#missing[@]} == 0)) || fail "the dashboard or the alerts use metrics no endpoint serves: ${missing[*]}"
log "$(wc -w <<<"$used") metric names used by the dashboard and the alerts, all served"
echo "PASS: monitoring"
