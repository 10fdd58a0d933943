#!/usr/bin/env bash
# Scheduler benchmark: count() over P partitions of one record each, so the
# job is nothing but scheduling, launch, status and result overhead. Prints
# tasks per second at each P for local[2] and local-cluster[2,1], and the
# ratio of the largest P's rate to the smallest's (1.0 means a task costs the
# same in a job of any size).
#   bench/scheduler.sh [build-dir]
#   EMBER_BENCH_TASKS="1000 10000 100000" (default)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$repo/build}
submit=$build/bin/ember-submit
app=$build/bench/libmany_tasks.so
for f in "$submit" "$app"; do
  [[ -e $f ]] || { echo "scheduler.sh: $f is missing; run make build first" >&2; exit 1; }
done
read -r -a sizes <<<"${EMBER_BENCH_TASKS:-1000 10000 100000}"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-20s %10s %10s %12s\n' mode tasks seconds tasks/s
for master in 'local[2]' 'local-cluster[2,1]'; do
  first="" last=""
  for p in "${sizes[@]}"; do
    out=$("$submit" --master "$master" --log-level warn "$app" "$p") || {
      echo "scheduler.sh: $master with $p tasks failed" >&2; exit 1; }
    secs=$(awk '/^tasks /{print $4}' <<<"$out")
    [[ -n $secs ]] || { echo "scheduler.sh: no timing in: $out" >&2; exit 1; }
    rate=$(awk -v p="$p" -v s="$secs" 'BEGIN{printf "%.0f", p / s}')
    printf '%-20s %10s %10s %12s\n' "$master" "$p" "$secs" "$rate"
    [[ -n $first ]] || first=$rate
    last=$rate
  done
  awk -v m="$master" -v a="$first" -v b="$last" -v n="${sizes[-1]}" 'BEGIN{
    printf "%s: %s tasks at %d/s (goal >= 50000/s: %s); rate at largest / smallest = %.2f\n",
      m, n, b, (b >= 50000 ? "PASS" : "MISS"), b / a }'
done
