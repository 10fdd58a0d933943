#!/usr/bin/env bash
# The driver's web UI in headless Chromium (Debian's package), during a real
# local-cluster job: each page is rendered, its DOM checked, and a
# screenshot kept; the jobs page is rendered twice to see progress advance.
#
# Usage: browser_test.sh BUILD_DIR OPS_APP ARTIFACT_DIR
set -euo pipefail

build=$1
app=$2
artifacts=$3
repo=$(cd "$(dirname "$0")/../.." && pwd)
chromium=$(command -v chromium || true)
if [[ -z $chromium ]]; then
  echo "browser_test: chromium is not installed (hack/install-deps.sh installs it)" >&2
  exit 1
fi

work=$(mktemp -d)
rm -rf "$artifacts"
mkdir -p "$artifacts"
driver_pid=
cleanup() {
  touch "$work/hold"
  if [[ -n $driver_pid ]]; then kill "$driver_pid" 2>/dev/null || true; wait "$driver_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "browser_test: FAIL: $*" >&2
  echo "--- driver stderr ---" >&2
  tail -n 30 "$work/driver.err" >&2 || true
  exit 1
}

for i in $(seq 1 400); do echo "w$((i % 13)) v$((i % 7)) common"; done >"$work/words.txt"
port=$(bash "$repo/hack/free-port.sh")
# 400 tasks of 300 ms: a minute of work, far more than the pages need even on
# a loaded machine, so job 1 is still running when they render; touching hold
# ends the rest at once.
"$build/bin/ember-submit" --master 'local-cluster[2,1]' --no-progress --ui-port "$port" \
  --conf ember.task.maxFailures=3 --conf myapp.db.password=hunter2 \
  "$app" ui "$work/words.txt" "$work/out" 400 300 "$work/hold" >"$work/driver.out" 2>"$work/driver.err" &
driver_pid=$!
base="http://127.0.0.1:$port"

api() { curl -sf --max-time 5 "$base/api/v1/$1"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# The slow job (job 1) is running and has finished a few tasks.
app_id=
for _ in $(seq 1 300); do
  if app_id=$(api applications 2>/dev/null | json 'd[0]["id"]' 2>/dev/null) &&
    done_tasks=$(api "applications/$app_id/jobs?status=running" | json 'd[0]["numCompletedTasks"] if d and d[0]["jobId"]==1 else -1' 2>/dev/null) &&
    ((done_tasks >= 2)); then
    break
  fi
  sleep 0.2
done
((${done_tasks:-0} >= 2)) || fail "job 1 never ran (app id '$app_id')"

render() { # render NAME HASH: dump the DOM and take a screenshot of $base/#HASH
  local name=$1 hash=$2
  "$chromium" --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
    --user-data-dir="$work/profile-$name" --virtual-time-budget=2500 --window-size=1280,900 \
    --screenshot="$artifacts/$name.png" "$base/#$hash" >/dev/null 2>"$work/chromium-$name.err" ||
    fail "chromium could not screenshot $name: $(tail -n 3 "$work/chromium-$name.err")"
  "$chromium" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$work/profile-$name" --virtual-time-budget=2500 \
    --dump-dom "$base/#$hash" >"$artifacts/$name.html" 2>>"$work/chromium-$name.err" ||
    fail "chromium could not render $name"
  [[ -s $artifacts/$name.png ]] || fail "no screenshot of $name"
}
attr() { # attr FILE SELECTOR-REGEX ATTRIBUTE: the attribute's value in the first matching tag
  python3 - "$@" <<'PY'
import re, sys
html, tag_re, attr = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
for tag in re.findall(r"<[^>]+>", html):
    if re.search(tag_re, tag):
        m = re.search(attr + r'="([^"]*)"', tag)
        print(m.group(1) if m else "")
        break
PY
}
# count FILE CLASS: elements with that class (among others)
count() { grep -oE "class=\"$2( [^\"]*)?\"" "$1" | wc -l; }

app_path="apps/$(python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=""))' "$app_id")"

render jobs-1 "/"
job1=$(attr "$artifacts/jobs-1.html" 'data-job-id="1"' data-completed)
status1=$(attr "$artifacts/jobs-1.html" 'data-job-id="1"' data-status)
[[ $status1 == RUNNING ]] || fail "jobs page shows job 1 as '$status1', not RUNNING"
[[ $job1 =~ ^[0-9]+$ ]] || fail "jobs page has no completed count for job 1"
grep -q "id=\"app-name\"" "$artifacts/jobs-1.html" || fail "no #app-name"
(($(count "$artifacts/jobs-1.html" progress-label) >= 1)) || fail "no progress bar label"
sleep 2
render jobs-2 "/$app_path/jobs"
job2=$(attr "$artifacts/jobs-2.html" 'data-job-id="1"' data-completed)
((job2 > job1)) || fail "progress did not advance: $job1 then $job2 completed tasks"
echo "browser_test: job 1 progress in the page: $job1 then $job2 of 400 tasks"

render job-0 "/$app_path/jobs/0"
(($(count "$artifacts/job-0.html" dag-stage) == 2)) || fail "job 0's DAG does not show 2 stages"
(($(count "$artifacts/job-0.html" dag-edge) >= 1)) || fail "job 0's DAG has no edge"

stage=$(api "applications/$app_id/jobs/1" | json 'd["stageIds"][0]')
render stages "/$app_path/stages"
grep -q "data-stage-id=\"$stage\"" "$artifacts/stages.html" || fail "stages page lacks stage $stage"
render stage "/$app_path/stages/$stage/0"
(($(count "$artifacts/stage.html" task) >= 2)) || fail "stage page lists fewer than 2 tasks"
(($(count "$artifacts/stage.html" task-bar) >= 2)) || fail "stage timeline has fewer than 2 bars"
grep -q 'id="task-summary"' "$artifacts/stage.html" || fail "stage page has no task summary"

render executors "/$app_path/executors"
(($(count "$artifacts/executors.html" executor) == 2)) || fail "executors page does not list 2 executors"
render environment "/$app_path/environment"
(($(count "$artifacts/environment.html" property) == 2)) || fail "environment page does not list 2 properties"
grep -q 'ember.task.maxFailures' "$artifacts/environment.html" || fail "environment page lacks ember.task.maxFailures"
grep -q 'redacted' "$artifacts/environment.html" || fail "environment page shows no redacted secret"
! grep -q hunter2 "$artifacts/environment.html" || fail "environment page shows a secret"
grep -q 'id="error"[^>]*hidden' "$artifacts/environment.html" || fail "a page showed an error"

touch "$work/hold"
wait "$driver_pid" || fail "the application failed"
driver_pid=
echo "browser_test: every page rendered; screenshots in $artifacts"
