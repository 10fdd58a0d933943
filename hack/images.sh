#!/usr/bin/env bash
# Builds Ember's images: ember-driver, ember-executor and ember-operator from
# the Dockerfiles of the same names, and ember-sdk (the driver Dockerfile's
# sdk stage, for building applications against Ember). Each is tagged with
# the project version and `latest`.
#
#   hack/images.sh            (make images)
#
# The base images come from hack/base-images.sh when the engine has no
# registry to pull them from. The three Dockerfiles share their build stage,
# so the engine compiles once.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "images: $*" >&2; }

bash hack/base-images.sh

version=$(sed -n 's/^project(ember VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[[ -n $version ]] || { log "error: no version in CMakeLists.txt's project()"; exit 1; }
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [[ $revision != unknown && -n $(git status --porcelain -- CMakeLists.txt common runtime operator examples 2>/dev/null) ]]; then
  revision+="-dirty"
fi
source_url=$(git remote get-url origin 2>/dev/null || echo unknown)

# The classic builder reads local base images without asking a registry;
# BuildKit (when the engine has it) would try to resolve them remotely.
export DOCKER_BUILDKIT=0
logs=${TMPDIR:-/tmp}/ember-images
mkdir -p "$logs"

build() {
  local name=$1 file=$2
  shift 2
  local start=$SECONDS
  log "building $name:$version from $file"
  local out=$logs/$name.log
  if ! docker build -f "$file" "$@" \
    --build-arg VERSION="$version" --build-arg REVISION="$revision" --build-arg SOURCE="$source_url" \
    --build-arg JOBS="${JOBS:-2}" -t "$name:$version" -t "$name:latest" . >"$out" 2>&1; then
    tail -30 "$out" >&2
    log "error: docker build of $file failed (whole log: $out)"
    exit 1
  fi
  log "$name:$version built in $((SECONDS - start)) s"
}

build ember-driver Dockerfile.driver
build ember-executor Dockerfile.executor
build ember-operator Dockerfile.operator
build ember-sdk Dockerfile.driver --target sdk

for name in ember-driver ember-executor ember-operator ember-sdk; do
  docker image inspect -f '{{.Size}}' "$name:$version" |
    awk -v n="$name:$version" '{ printf "images: %-22s %6.1f MB\n", n, $1 / 1e6 }' >&2
done
