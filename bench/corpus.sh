# Sourced by the WordCount benchmarks (run.sh, chaos.sh, ui.sh): the
# Zipf-distributed text corpus, generated once and cached.
#
# wordcount_corpus GENTEXT CACHE MB VOCAB SEED: prints the corpus directory,
# generating it first when the cache lacks it. Keyed by the generator's
# source too, so a changed generator never reuses an old corpus. Progress
# goes to stderr.
wordcount_corpus() {
  local gentext=$1 cache=$2 mb=$3 vocab=$4 seed=$5
  local gen_key corpus
  gen_key=$(sha1sum "$(dirname "${BASH_SOURCE[0]}")/gen_text.cc" | cut -c1-10)
  corpus=$cache/corpus-${mb}mb-${vocab}w-seed${seed}-$gen_key
  if [[ ! -e $corpus/.complete ]]; then
    mkdir -p "$cache"
    rm -rf "$corpus" "$corpus.tmp.$$"
    echo "bench: generating ${mb} MiB corpus in $corpus" >&2
    "$gentext" "$corpus.tmp.$$" "$mb" "$vocab" "$seed" >&2
    touch "$corpus.tmp.$$/.complete" # dot files are not input to the programs
    mv "$corpus.tmp.$$" "$corpus"
  fi
  echo "$corpus"
}
