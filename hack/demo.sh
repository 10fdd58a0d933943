#!/usr/bin/env bash
# make demo: WordCount on the bundled sample text, with two executor
# processes (local-cluster[2,1]), then the ten most frequent words.
set -euo pipefail
build=${1:-build}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
input=$repo/examples/data/sample.txt
output=$repo/.cache/demo/wordcount-output
rm -rf "$output"
mkdir -p "$(dirname "$output")"

echo "==> ember-submit --master 'local-cluster[2,1]' libwordcount.so $input $output"
"$build/bin/ember-submit" --master 'local-cluster[2,1]' --name WordCount \
  "$build/examples/libwordcount.so" "$input" "$output"

echo
echo "==> The 10 most frequent words:"
# awk reads to the end rather than head, so that sort never meets a closed
# pipe (pipefail would turn that into a failure on a larger input).
cat "$output"/part-* | sort -t $'\t' -k2,2nr -k1,1 |
  awk -F '\t' 'NR <= 10 { printf "  %-12s %s\n", $1, $2 }'
echo
echo "Full output: $output (part-* files of word<TAB>count, plus _SUCCESS)"
