#!/usr/bin/env bash
# Chaos benchmark: WordCount in local-cluster[3,1] while an executor dies.
#
#   bash bench/chaos.sh BUILD_DIR
#
# Runs WordCount on a generated corpus (the one bench/run.sh uses, cached)
# without faults, then EMBER_CHAOS_RUNS times with one executor killed by
# SIGKILL at a random moment, then as many times with one executor frozen by
# SIGSTOP (found lost by the heartbeat timeout). Every run's output is compared
# with the hand-written baseline's counts. Prints how many runs gave exactly
# the right output and the median slowdown against the fault-free runs. The
# exit status is non-zero when any run fails or gives a wrong answer: that is
# the promise under test, not a timing goal.
#
# Environment:
#   EMBER_CHAOS_MB        corpus size in MiB (default 256)
#   EMBER_CHAOS_RUNS      runs per fault kind (default 10)
#   EMBER_CHAOS_SEED      seed of the fault moments and victims (default 7)
#   EMBER_CHAOS_TIMEOUT_S heartbeat and fetch idle timeout (default 10)
#   EMBER_BENCH_CACHE     corpus cache (default ~/.cache/ember/bench)
set -euo pipefail

readonly BUILD_DIR=$(cd "${1:-build}" && pwd)
readonly SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly MB=${EMBER_CHAOS_MB:-256}
readonly RUNS=${EMBER_CHAOS_RUNS:-10}
readonly TIMEOUT_S=${EMBER_CHAOS_TIMEOUT_S:-10}
readonly CACHE=${EMBER_BENCH_CACHE:-$HOME/.cache/ember/bench}
readonly VOCAB=100000 CORPUS_SEED=42
RANDOM=${EMBER_CHAOS_SEED:-7}

readonly GENTEXT=$BUILD_DIR/bin/ember-bench-gentext
readonly BASELINE=$BUILD_DIR/bin/ember-bench-baseline
readonly SUBMIT=$BUILD_DIR/bin/ember-submit
readonly APP=$BUILD_DIR/examples/libwordcount.so
for f in "$GENTEXT" "$BASELINE" "$SUBMIT" "$APP"; do
  [[ -e $f ]] || { echo "chaos: $f is missing; run 'make build' first" >&2; exit 1; }
done

source "$SRC_DIR/bench/corpus.sh"
corpus=$(wordcount_corpus "$GENTEXT" "$CACHE" "$MB" "$VOCAB" "$CORPUS_SEED")
cat "$corpus"/part-* >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/ember-chaos.XXXXXX")
cleanup() {
  # A frozen executor must not outlive the script.
  pkill -CONT -f "ember-executor.*$work" 2>/dev/null || true
  pkill -KILL -f "ember-executor.*$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

digest() { LC_ALL=C sort "$@" | sha256sum | cut -d' ' -f1; }

"$BASELINE" "$corpus" "$work/expected" >/dev/null
expected=$(digest "$work/expected")

# run_job NAME SIGNAL: one WordCount; with SIGNAL, that signal goes to a random
# executor at a random moment between 10% and 75% of a fault-free run. Sets
# job_secs, job_ok (1 when it exited 0 with exactly the expected output) and
# job_faulted (1 when an executor was there to receive the signal).
run_job() {
  local name=$1 signal=${2:-} out=$work/out-$1
  rm -rf "$out"
  local start end pid delay victim=""
  start=$(date +%s.%N)
  "$SUBMIT" --master 'local-cluster[3,1]' --log-level warn --local-dir "$work/local-$name" \
    --conf ember.executor.heartbeatIntervalMs=1000 \
    --conf "ember.executor.heartbeatTimeoutMs=$((TIMEOUT_S * 1000))" \
    --conf "ember.shuffle.io.idleTimeoutMs=$((TIMEOUT_S * 1000))" \
    "$APP" "$corpus" "$out" >"$work/$name.log" 2>&1 &
  pid=$!
  if [[ -n $signal ]]; then
    delay=$(awk -v c="$clean_secs" -v r="$RANDOM" 'BEGIN{printf "%.3f", c * (0.1 + 0.65 * r / 32767)}')
    sleep "$delay"
    mapfile -t executors < <(pgrep -P "$pid" -f ember-executor || true)
    if ((${#executors[@]} > 0)); then
      victim=${executors[RANDOM % ${#executors[@]}]}
      kill "-$signal" "$victim" 2>/dev/null || victim=""
    fi
  fi
  job_ok=0
  job_faulted=0
  [[ -n $victim ]] && job_faulted=1
  if wait "$pid" && [[ -e $out/_SUCCESS ]] && [[ $(digest "$out"/part-*) == "$expected" ]]; then
    job_ok=1
  fi
  end=$(date +%s.%N)
  job_secs=$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.2f", b - a}')
  [[ -n $victim ]] && kill -KILL "$victim" 2>/dev/null || true
  if [[ -n $signal ]]; then
    printf '%-10s %4s %8s s  fault at %6s s  %s\n' "$signal" "$name" "$job_secs" "$delay" \
      "$( ((job_ok)) && echo exact || echo "WRONG OR FAILED (log: $work/$name.log)")"
    ((job_faulted)) || echo "           (no executor was running at that moment: run again)"
  fi
  if ((!job_ok)); then
    tail -5 "$work/$name.log" >&2
    trap - EXIT  # keep the logs for a look
  fi
  rm -rf "$out" "$work/local-$name"
}

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "corpus: $MB MiB; local-cluster[3,1]; heartbeat and fetch idle timeouts ${TIMEOUT_S} s"
clean_times=()
clean_secs=0
for i in 1 2 3; do
  run_job "clean$i"
  ((job_ok)) || { echo "chaos: a fault-free run failed" >&2; exit 1; }
  clean_times+=("$job_secs")
done
clean_secs=$(printf '%s\n' "${clean_times[@]}" | median)
echo "no fault: ${clean_times[*]} s (median $clean_secs s)"

failures=0
for signal in KILL STOP; do
  times=()
  exact=0
  for ((i = 1; i <= RUNS; i++)); do
    for try in 1 2 3; do
      run_job "$signal$i" "$signal"
      ((job_faulted)) && break
    done
    times+=("$job_secs")
    exact=$((exact + job_ok))
  done
  failures=$((failures + RUNS - exact))
  med=$(printf '%s\n' "${times[@]}" | median)
  awk -v s="$signal" -v e="$exact" -v n="$RUNS" -v m="$med" -v c="$clean_secs" 'BEGIN{
    printf "SIG%s: %d/%d runs exact; median %.2f s = %.2fx the fault-free median\n", s, e, n, m, m / c }'
done
((failures == 0)) || { echo "chaos: $failures runs failed or gave a wrong answer" >&2; exit 1; }
