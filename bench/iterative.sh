#!/usr/bin/env bash
# PageRank and KMeans (examples/page_rank.cc, examples/k_means.cc) on inputs
# of the sizes Thrill's authors report: 250,000 pages with 12.5 million edges,
# and 40 million 2-D points with k = 10. Prints the time to load (parse and
# cache), each iteration's time, and the mean of iterations 2..N with the
# input it covers per second. Figures are printed, never asserted; Thrill's
# published figures are printed beside them for reference (Thrill cannot be
# built on this machine, so they are not measured side by side).
#
#   bash bench/iterative.sh BUILD_DIR
#
# Environment:
#   EMBER_BENCH_PAGES, EMBER_BENCH_EDGES   graph size (250000, 12500000)
#   EMBER_BENCH_POINTS, EMBER_BENCH_K      points and centres (40000000, 10)
#   EMBER_BENCH_ITERATIONS                 iterations of each (5)
#   EMBER_BENCH_CACHE                      input cache (~/.cache/ember/bench)
set -euo pipefail
readonly BUILD_DIR=$(cd "${1:?usage: iterative.sh BUILD_DIR}" && pwd)
readonly PAGES=${EMBER_BENCH_PAGES:-250000}
readonly EDGES=${EMBER_BENCH_EDGES:-12500000}
readonly POINTS=${EMBER_BENCH_POINTS:-40000000}
readonly K=${EMBER_BENCH_K:-10}
readonly ITERATIONS=${EMBER_BENCH_ITERATIONS:-5}
readonly CACHE=${EMBER_BENCH_CACHE:-$HOME/.cache/ember/bench}
readonly MASTER='local-cluster[2,1]'
readonly GEN=$BUILD_DIR/bin/ember-bench-geniter
readonly SUBMIT=$BUILD_DIR/bin/ember-submit
for f in "$GEN" "$SUBMIT" "$BUILD_DIR"/examples/lib{pagerank,kmeans}.so; do
  [[ -e $f ]] || { echo "iterative.sh: $f is missing; run make build first" >&2; exit 1; }
done
((ITERATIONS >= 2)) || { echo "iterative.sh: EMBER_BENCH_ITERATIONS must be at least 2" >&2; exit 1; }

gen_key=$(sha1sum <"$(dirname "${BASH_SOURCE[0]}")/gen_iterative.cc" | cut -c1-10)
graph=$CACHE/graph-$PAGES-$EDGES-$gen_key
points=$CACHE/points-$POINTS-$K-$gen_key
mkdir -p "$CACHE"
if [[ ! -d $graph ]]; then
  echo "bench: generating $EDGES edges over $PAGES pages in $graph"
  "$GEN" graph "$PAGES" "$EDGES" 1 "$graph.tmp" && mv "$graph.tmp" "$graph"
fi
if [[ ! -d $points ]]; then
  echo "bench: generating $POINTS points around $K centres in $points"
  "$GEN" points "$POINTS" "$K" 1 "$points.tmp" && mv "$points.tmp" "$points"
fi
cat "$graph"/part-* "$points"/part-* >/dev/null  # warm the page cache
work=$(mktemp -d "${TMPDIR:-/tmp}/ember-iterative.XXXXXX")
trap 'rm -rf "$work"' EXIT

# report NAME LOG INPUT_MB THRILL: load time, iterations, mean of 2..N.
report() {
  local name=$1 log=$2 mb=$3 thrill=$4
  awk -v name="$name" -v mb="$mb" -v thrill="$thrill" '
    /^pagerank: .* pages with links/ { s = $0; sub(/.*\(/, "", s); sub(/ s\).*/, "", s); load = s }
    /^iteration [0-9]+: / { n++; t = $3 + 0; times = times sprintf(" %.2f", t); if (n > 1) { sum += t } }
    /^kmeans: .* iterations in/ { total = $(NF - 1) }
    END {
      mean = sum / (n - 1)
      printf "%-10s %6.1f MB  iterations (s):%s\n", name, mb, times
      if (load != "") printf "%-10s load and cache the links: %.2f s\n", "", load
      printf "%-10s mean of iterations 2..%d: %.3f s (%.0f MB/s of input); Thrill reports %s s\n",
             "", n, mean, mb / mean, thrill
    }' "$log"
}

echo "bench: $MASTER, 2 cores, $ITERATIONS iterations; load average $(cut -d' ' -f1 /proc/loadavg)"
graph_mb=$(du -sm "$graph" | cut -f1)
points_mb=$(du -sm "$points" | cut -f1)
"$SUBMIT" --master "$MASTER" --no-progress "$BUILD_DIR/examples/libpagerank.so" "$graph" \
  "$ITERATIONS" >"$work/pagerank.log" 2>&1 || { cat "$work/pagerank.log" >&2; exit 1; }
"$SUBMIT" --master "$MASTER" --no-progress "$BUILD_DIR/examples/libkmeans.so" "$points" "$K" \
  "$ITERATIONS" >"$work/kmeans.log" 2>&1 || { cat "$work/kmeans.log" >&2; exit 1; }
echo
report PageRank "$work/pagerank.log" "$graph_mb" 0.83
report KMeans "$work/kmeans.log" "$points_mb" 0.85
echo
echo "KMeans' first iteration also parses the text and caches the points."
