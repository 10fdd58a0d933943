#!/usr/bin/env bash
# The web UI's cost to the driver (see bench/README.md): WordCount in
# local[2] (driver and executor in one process, so its figures cover
# everything the UI touches) with the UI off, and with it on while a client
# polls the REST API as the UI's pages do (jobs, stages and executors every
# second). Runs alternate; the best of each is kept. Prints wall time, CPU
# time and peak RSS side by side, and the ratios. Then the scheduler
# benchmark's 100,000 one-record tasks with the UI off and on, where the
# events the UI and the event log are told of cost the most per unit of
# work. Reported, never asserted.
#
#   bash bench/ui.sh BUILD_DIR
#
# Environment: EMBER_BENCH_MB (default 256), EMBER_BENCH_RUNS (default 3),
# EMBER_BENCH_CACHE (default ~/.cache/ember/bench).
set -euo pipefail

readonly BUILD_DIR=$(cd "${1:-build}" && pwd)
readonly SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly MB=${EMBER_BENCH_MB:-256}
readonly RUNS=${EMBER_BENCH_RUNS:-3}
readonly CACHE=${EMBER_BENCH_CACHE:-$HOME/.cache/ember/bench}
readonly SUBMIT=$BUILD_DIR/bin/ember-submit
readonly APP=$BUILD_DIR/examples/libwordcount.so
readonly GENTEXT=$BUILD_DIR/bin/ember-bench-gentext
readonly MANY=$BUILD_DIR/bench/libmany_tasks.so
for f in "$GENTEXT" "$SUBMIT" "$APP" "$MANY" /usr/bin/time; do
  [[ -e $f ]] || { echo "bench-ui: $f is missing; run 'make build' first" >&2; exit 1; }
done

source "$SRC_DIR/bench/corpus.sh"
corpus=$(wordcount_corpus "$GENTEXT" "$CACHE" "$MB" 100000 42)
cat "$corpus"/part-* >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/ember-bench-ui.XXXXXX")
poller=
trap '[[ -n $poller ]] && kill $poller 2>/dev/null; rm -rf "$work"' EXIT

# poll PORT: what a browser on the jobs, stages and executors pages asks
# for, once a second, with one curl process per round (the client shares the
# two cores with the job, so it must cost little itself).
poll() {
  local port=$1 app=
  until app=$(curl -sf --max-time 2 "http://127.0.0.1:$port/api/v1/applications" |
    grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4) && [[ -n $app ]]; do
    sleep 0.1
  done
  local base="http://127.0.0.1:$port/api/v1/applications/$app"
  while true; do
    curl -sf --max-time 2 -o /dev/null -o /dev/null -o /dev/null \
      "$base/jobs" "$base/stages" "$base/allexecutors" || true
    sleep 1
  done
}

declare -A best_secs best_cpu best_rss polls
for ((i = 1; i <= RUNS; i++)); do
  for mode in off on; do
    rm -rf "$work/out"
    flags=(--ui-port -1)
    if [[ $mode == on ]]; then
      port=$(bash "$SRC_DIR/hack/free-port.sh")
      flags=(--ui-port "$port")
      poll "$port" &
      poller=$!
    fi
    /usr/bin/time -f '%e %M %U %S' -o "$work/time" \
      "$SUBMIT" --master 'local[2]' --no-progress "${flags[@]}" "$APP" "$corpus" "$work/out" \
      >"$work/run.log" 2>&1 || { cat "$work/run.log" >&2; exit 1; }
    if [[ -n $poller ]]; then kill "$poller" 2>/dev/null; wait "$poller" 2>/dev/null || true; poller=; fi
    read -r secs rss user sys <"$work/time"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')
    echo "bench-ui: run $i, UI $mode: ${secs} s, CPU ${cpu} s, peak RSS $((rss / 1024)) MB"
    if [[ -z ${best_secs[$mode]:-} ]] || awk -v a="$secs" -v b="${best_secs[$mode]}" 'BEGIN {exit !(a < b)}'; then
      best_secs[$mode]=$secs
    fi
    if [[ -z ${best_cpu[$mode]:-} ]] || awk -v a="$cpu" -v b="${best_cpu[$mode]}" 'BEGIN {exit !(a < b)}'; then
      best_cpu[$mode]=$cpu
    fi
    if [[ -z ${best_rss[$mode]:-} ]] || ((rss < best_rss[$mode])); then best_rss[$mode]=$rss; fi
  done
done

echo
echo "WordCount, ${MB} MiB, local[2], best of ${RUNS} each (UI on: REST polled every second)"
printf '%-8s %10s %10s %14s\n' UI 'wall s' 'CPU s' 'peak RSS MB'
for mode in off on; do
  printf '%-8s %10.2f %10.2f %14.1f\n' "$mode" "${best_secs[$mode]}" "${best_cpu[$mode]}" \
    "$(awk -v r="${best_rss[$mode]}" 'BEGIN {print r / 1024}')"
done
awk -v a="${best_secs[on]}" -v b="${best_secs[off]}" -v c="${best_cpu[on]}" -v d="${best_cpu[off]}" \
  -v r="${best_rss[on]}" -v s="${best_rss[off]}" 'BEGIN {
    printf "UI on / off: wall %.3fx (%+.1f%%), CPU %.3fx (%+.1f%%), peak RSS %+.1f MB\n",
      a / b, (a / b - 1) * 100, c / d, (c / d - 1) * 100, (r - s) / 1024
    printf "goal: under 2%% time and under 10 MB\n" }'

# --- the scheduler's 100,000 tiny tasks -------------------------------------
# Each run is a fraction of a second, so a single run says little: five
# alternating runs per mode, and the median.
declare -A rates
for ((i = 1; i <= 5; i++)); do
  for mode in off on log; do
    flags=(--ui-port -1)
    [[ $mode != off ]] && flags=(--ui-port 0)
    [[ $mode == log ]] && flags+=(--conf "ember.eventLog.dir=$work/events-$i")
    out=$("$SUBMIT" --master 'local[2]' --log-level warn "${flags[@]}" "$MANY" 100000)
    secs=$(awk '/^tasks /{print $4}' <<<"$out")
    rates[$mode]+="$(awk -v s="$secs" 'BEGIN{printf "%.0f", 100000 / s}') "
  done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
echo
echo "100,000 one-record tasks, local[2], median of 5: tasks per second"
printf '%-28s %12s %10s   %s\n' mode 'tasks/s' 'vs off' 'all runs'
off=$(median "${rates[off]}")
for mode in off on log; do
  label="UI off"
  [[ $mode == on ]] && label="UI on"
  [[ $mode == log ]] && label="UI on and event log"
  m=$(median "${rates[$mode]}")
  printf '%-28s %12s %10s   %s\n' "$label" "$m" \
    "$(awk -v a="$m" -v b="$off" 'BEGIN{printf "%.3fx", a / b}')" "${rates[$mode]}"
done
