#!/usr/bin/env bash
# TeraSort side by side with GNU sort, on one input and the same 2 cores:
# TeraGen writes gensort's ASCII records (100-byte lines with printable
# 10-byte keys), which Ember's TeraSort sorts as binary records and GNU sort
# as lines. Both outputs must be byte-identical (keys are distinct, so the
# order is unique), and TeraValidate must pass. Figures are printed, never
# asserted.
#
#   bash bench/terasort.sh BUILD_DIR
#
# Environment:
#   EMBER_BENCH_SORT_MB     input size in MB of 10^6 bytes (default 1000)
#   EMBER_BENCH_SORT_MEM    GNU sort's buffer, sort -S (default 2G)
#   EMBER_BENCH_CACHE       input cache (default ~/.cache/ember/bench)
set -euo pipefail

readonly BUILD_DIR=$(cd "${1:-build}" && pwd)
readonly SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly MB=${EMBER_BENCH_SORT_MB:-1000}
readonly SORT_MEM=${EMBER_BENCH_SORT_MEM:-2G}
readonly CACHE=${EMBER_BENCH_CACHE:-$HOME/.cache/ember/bench}
readonly RECORDS=$((MB * 10000))
readonly SUBMIT=$BUILD_DIR/bin/ember-submit
readonly MASTER='local-cluster[2,1]'
for f in "$SUBMIT" "$BUILD_DIR"/examples/lib{teragen,terasort,teravalidate}.so; do
  [[ -e $f ]] || { echo "bench: $f is missing; run 'make build' first" >&2; exit 1; }
done
[[ -x /usr/bin/time ]] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

submit() { "$SUBMIT" --master "$MASTER" --no-progress "$@"; }

# The input, generated once per size and generator.
gen_key=$(cat "$SRC_DIR"/examples/terasort/{gensort_record.h,teragen.cc} | sha1sum | cut -c1-10)
input=$CACHE/terasort-ascii-${MB}mb-$gen_key
if [[ ! -e $input/_SUCCESS ]]; then
  mkdir -p "$CACHE"
  rm -rf "$input"
  echo "bench: generating $RECORDS records ($MB MB) in $input"
  submit "$BUILD_DIR/examples/libteragen.so" --ascii "$RECORDS" "$input" 8 >/dev/null
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ember-terasort.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat "$input"/part-* >/dev/null  # warm the page cache for both

# time_run NAME CMD...: wall seconds, CPU seconds and peak RSS (MB) of CMD.
time_run() {
  local name=$1
  shift
  if ! /usr/bin/time -f '%e %M %U %S' -o "$work/$name.time" "$@" >"$work/$name.log" 2>&1; then
    echo "bench: $name FAILED:" >&2
    cat "$work/$name.log" >&2
    exit 1
  fi
  read -r secs rss user sys < <(tail -n 1 "$work/$name.time")
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')
  rss_mb=$((rss / 1024))
}

echo "bench: $RECORDS records, $MB MB; 2 cores; load average $(cut -d' ' -f1 /proc/loadavg)"
time_run ember "$SUBMIT" --master "$MASTER" --no-progress "$BUILD_DIR/examples/libterasort.so" \
  "$input" "$work/ember-out"
ember_secs=$secs ember_cpu=$cpu ember_rss=$rss_mb
time_run gnu env LC_ALL=C sort --parallel=2 -S "$SORT_MEM" -T "$work" -o "$work/gnu-out" \
  "$input"/part-*
gnu_secs=$secs gnu_cpu=$cpu gnu_rss=$rss_mb
# Both again with memory for a quarter of the data: Ember's executors spill
# sorted runs past ember.memory.budget (an eighth of the input each), GNU
# sort past -S.
quarter=$((MB / 4))
time_run ember_quarter "$SUBMIT" --master "$MASTER" --no-progress --log-level info \
  --conf "ember.memory.budget=$((MB / 8))m" "$BUILD_DIR/examples/libterasort.so" \
  "$input" "$work/ember-quarter-out"
eq_secs=$secs eq_cpu=$cpu eq_rss=$rss_mb
eq_spilled=$( (grep -o 'spilled [0-9]* bytes' "$work/ember_quarter.log" || true) |
  awk '{s += $2} END {print int(s / 1e6)}')
time_run gnu_quarter env LC_ALL=C sort --parallel=2 -S "${quarter}M" -T "$work" \
  -o "$work/gnu-quarter-out" "$input"/part-*
gq_secs=$secs gq_cpu=$cpu gq_rss=$rss_mb

# The same bytes, and TeraValidate agrees.
ember_sum=$(cat "$work"/ember-out/part-* | md5sum | cut -d' ' -f1)
for other in "$work"/ember-quarter-out/part-* "$work/gnu-out" "$work/gnu-quarter-out"; do
  [[ $other == */part-* ]] && continue
  sum=$(md5sum <"$other" | cut -d' ' -f1)
  if [[ $sum != "$ember_sum" ]]; then
    echo "bench: $other differs from Ember's output ($sum, $ember_sum)" >&2
    exit 1
  fi
done
quarter_sum=$(cat "$work"/ember-quarter-out/part-* | md5sum | cut -d' ' -f1)
if [[ $quarter_sum != "$ember_sum" ]]; then
  echo "bench: Ember's output with a quarter of the memory differs ($quarter_sum, $ember_sum)" >&2
  exit 1
fi
for out in ember-out ember-quarter-out; do
  submit "$BUILD_DIR/examples/libteravalidate.so" "$work/$out" "$input" >>"$work/validate.log" 2>&1 || {
    cat "$work/validate.log" >&2
    exit 1
  }
done

printf '\n%-28s %9s %9s %9s %12s\n' program seconds 'MB/s' 'CPU s' 'peak RSS MB'
awk -v mb="$MB" -v s="$ember_secs" -v c="$ember_cpu" -v r="$ember_rss" -v m="$MASTER" \
  'BEGIN {printf "%-28s %9.2f %9.1f %9.2f %12d\n", "ember " m, s, mb / s, c, r}'
awk -v mb="$MB" -v s="$gnu_secs" -v c="$gnu_cpu" -v r="$gnu_rss" -v m="$SORT_MEM" \
  'BEGIN {printf "%-28s %9.2f %9.1f %9.2f %12d\n", "GNU sort --parallel=2 -S " m, s, mb / s, c, r}'
awk -v mb="$MB" -v s="$eq_secs" -v c="$eq_cpu" -v r="$eq_rss" -v m="$MASTER" -v b="$((MB / 8))" \
  'BEGIN {printf "%-28s %9.2f %9.1f %9.2f %12d\n", "ember, budget " b "m x 2", s, mb / s, c, r}'
awk -v mb="$MB" -v s="$gq_secs" -v c="$gq_cpu" -v r="$gq_rss" -v m="${quarter}M" \
  'BEGIN {printf "%-28s %9.2f %9.1f %9.2f %12d\n", "GNU sort --parallel=2 -S " m, s, mb / s, c, r}'
awk -v e="$ember_secs" -v g="$gnu_secs" 'BEGIN {printf "\nGNU sort / Ember = %.2fx\n", g / e}'
awk -v e="$eq_secs" -v g="$gq_secs" 'BEGIN {printf "with memory for a quarter of the data: GNU sort / Ember = %.2fx\n", g / e}'
echo "Ember spilled $eq_spilled MB with the quarter budget"
echo "outputs identical (md5 $ember_sum); teravalidate: $(grep -c 'sorted: yes' "$work/validate.log") of 2 pass"
echo "peak RSS is the largest single process's (for Ember, an executor's or the driver's)"
