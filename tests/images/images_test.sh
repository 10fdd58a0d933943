#!/usr/bin/env bash
# The images `make images` built, run with Docker (ctest label "images").
#
#   tests/images/images_test.sh BUILD_DIR CASE
#
# Cases:
#   spark_pi          the driver image runs SparkPi in local[2] and prints Pi
#   cluster           a driver and two executor containers on a network of
#                     their own run WordCount with the operator's own pod
#                     command lines; the output on the shared volume is exact
#   executor_killed   the same, with one executor container killed mid-job
#   hardened          every image runs as UID 65532, driver and executor with
#                     a read-only root, no compiler or -dev package inside,
#                     OCI labels, sizes well under 150 MB
#   signals           docker stop reaches the program, through tini and as
#                     PID 1 (as in a pod), and it exits cleanly, not killed
#   operator_no_cluster  the operator image exits at once with a clear error
#   out_of_tree       examples/out-of-tree, copied outside the repository,
#                     built in the SDK image and run on driver and executor
#                     containers
#   dockerfiles       the three Dockerfiles share one build stage
#   install           (no Docker) cmake --install into a fresh prefix; the
#                     out-of-tree example builds against it with
#                     find_package(Ember) and with pkg-config, and runs on the
#                     installed ember-submit in local-cluster mode
set -euo pipefail

build=$(cd "$1" && pwd)
case_name=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)
version=$(sed -n 's/^project(ember VERSION \([0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")
driver_image=ember-driver:$version
executor_image=ember-executor:$version
operator_image=ember-operator:$version
sdk_image=ember-sdk:$version
readonly UID_EMBER=65532

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
log() { echo "--- $*" >&2; }

for tool in render_pods:bin/render_pods ember-bench-gentext:bin/ember-bench-gentext \
  ember-bench-baseline:bin/ember-bench-baseline ember-submit:bin/ember-submit; do
  [[ -x $build/${tool#*:} ]] || fail "${tool%%:*} is not built in $build (configure with EMBER_BUILD_BENCH=ON and build first)"
done
if [[ $case_name != install && $case_name != dockerfiles ]]; then
  command -v docker >/dev/null || fail "docker is not installed"
  docker info >/dev/null 2>&1 || fail "the Docker engine is not reachable"
  for image in "$driver_image" "$executor_image" "$operator_image" "$sdk_image"; do
    docker image inspect "$image" >/dev/null 2>&1 || fail "image $image is missing: run 'make images'"
  done
fi

# Everything a case creates carries this label and goes when it ends.
tag=ember-test-$case_name-$$
work=$(mktemp -d "${TMPDIR:-/tmp}/$tag.XXXXXX")
cleanup() {
  local ids
  # A failure in an EXIT trap would turn a passed test into a failed one.
  ids=$(docker ps -aq --filter "label=$tag" 2>/dev/null || true)
  [[ -z $ids ]] || docker rm -f $ids >/dev/null 2>&1 || true
  docker network rm "$tag" >/dev/null 2>&1 || true
  docker image rm -f "$tag-app" >/dev/null 2>&1 || true
  # Files the containers wrote belong to UID 65532.
  rm -rf "$work" 2>/dev/null || docker run --rm -v "$work:/w" --entrypoint rm "$driver_image" -rf /w/data || true
  rm -rf "$work"
}
trap cleanup EXIT

# The flags a restricted pod gets: non-root, no capabilities, no privilege
# escalation, a read-only root.
restricted=(--user "$UID_EMBER:$UID_EMBER" --cap-drop ALL --security-opt no-new-privileges --read-only)

# ---------------------------------------------------------------------------
# A cluster the way the operator lays one out, on Docker: the driver answers
# at the Service's DNS name (a network alias), each executor advertises its
# own address (what $(POD_IP) expands to in a pod), the Secret and the scratch
# emptyDir are mounted where the pod mounts them, and a shared volume stands
# in for a ReadWriteMany PersistentVolumeClaim at /data.

# render APP.json ROLE [ID] -> the pod's command line into the array `cmd`.
render() {
  local out
  out=$(mktemp "$work/cmd.XXXXXX")
  "$build/bin/render_pods" "$@" >"$out" || fail "render_pods $* failed"
  mapfile -d '' -t cmd <"$out"
}

subnet_prefix=""
make_network() {
  # A /24 of its own; another run may hold one, so try a few.
  local i n
  for i in 0 1 2 3 4 5 6 7; do
    n=$(((RANDOM + i) % 200 + 20))
    if docker network create --subnet "10.231.$n.0/24" --label "$tag" "$tag" >/dev/null 2>&1; then
      subnet_prefix=10.231.$n
      return
    fi
  done
  fail "could not create a Docker network for the test"
}

# start_cluster APP.json DRIVER_IMAGE EXECUTORS: starts the driver and the
# executors, detached; their names are $tag-driver and $tag-exec-N.
start_cluster() {
  local app=$1 image=$2 executors=$3
  # Executors find the driver at the Service name in their --driver flag.
  local driver_host="" a
  render "$app" executor 1
  for a in "${cmd[@]}"; do
    if [[ $a == --driver=* ]]; then
      driver_host=${a#--driver=}
      driver_host=${driver_host%:*}
    fi
  done
  [[ -n $driver_host ]] || fail "the executor pod's command line has no --driver=HOST:PORT"
  make_network
  mkdir -p "$work/secret" "$work/data"
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/secret/secret"
  chmod 0755 "$work/secret" && chmod 0644 "$work/secret/secret"
  chmod 0777 "$work/data"
  : >"$work/termination-driver"
  chmod 0666 "$work/termination-driver"

  render "$app" driver
  [[ ${cmd[0]} == ember-driver ]] || fail "the driver pod runs '${cmd[0]}', not ember-driver"
  printf '%q ' "${cmd[@]}" >"$work/driver.cmdline"
  docker run -d --name "$tag-driver" --label "$tag" --network "$tag" --ip "$subnet_prefix.2" \
    --network-alias "$driver_host" "${restricted[@]}" \
    --tmpfs "/var/lib/ember:exec,uid=$UID_EMBER,gid=$UID_EMBER,mode=0700" \
    -v "$work/secret:/etc/ember/secret:ro" -v "$work/data:/data" \
    -v "$work/termination-driver:/dev/termination-log" \
    --entrypoint "${cmd[0]}" "$image" "${cmd[@]:1}" >/dev/null
  local id
  for ((id = 1; id <= executors; id++)); do
    render "$app" executor "$id"
    [[ ${cmd[0]} == ember-executor ]] || fail "the executor pod runs '${cmd[0]}', not ember-executor"
    local ip=$subnet_prefix.$((10 + id)) args=()
    for a in "${cmd[@]:1}"; do args+=("${a//\$(POD_IP)/$ip}"); done
    : >"$work/termination-exec-$id"
    chmod 0666 "$work/termination-exec-$id"
    docker run -d --name "$tag-exec-$id" --label "$tag" --network "$tag" --ip "$ip" "${restricted[@]}" \
      --tmpfs "/var/lib/ember:exec,uid=$UID_EMBER,gid=$UID_EMBER,mode=0700" \
      -v "$work/secret:/etc/ember/secret:ro" -v "$work/data:/data" \
      -v "$work/termination-exec-$id:/dev/termination-log" \
      --entrypoint "${cmd[0]}" "$executor_image" "${args[@]}" >/dev/null
  done
}

# wait_driver SECONDS -> the driver's exit code in `driver_rc`.
wait_driver() {
  local deadline=$((SECONDS + $1))
  while [[ $(docker inspect -f '{{.State.Running}}' "$tag-driver") == true ]]; do
    if ((SECONDS > deadline)); then
      docker logs "$tag-driver" 2>&1 | tail -20 >&2
      fail "the driver did not finish in $1 s"
    fi
    sleep 0.5
  done
  driver_rc=$(docker inspect -f '{{.State.ExitCode}}' "$tag-driver")
}

show_logs() {
  local c
  for c in $(docker ps -aq --filter "label=$tag"); do
    echo "=== $(docker inspect -f '{{.Name}}' "$c")" >&2
    docker logs "$c" 2>&1 | tail -25 >&2
  done
}

wordcount_app() {
  cat >"$work/app.json" <<EOF
{"apiVersion": "ember.dev/v1alpha1", "kind": "SparkApplication",
 "metadata": {"name": "wordcount", "namespace": "jobs", "uid": "6f1c2a9e-7b1d-4c55-9d0e-1a2b3c4d5e6f"},
 "spec": {"image": "$driver_image",
          "mainApplicationFile": "local:///opt/ember/examples/libwordcount.so",
          "arguments": ["/data/input", "/data/output"],
          "sparkConf": {"ember.executor.heartbeatIntervalMs": "1s", "ember.executor.heartbeatTimeoutMs": "6s"},
          "driver": {"cores": 1, "memory": "512m"},
          "executor": {"image": "$executor_image", "instances": 2, "cores": 2, "memory": "1g"}}}
EOF
}

# A corpus and its counts from the hand-written baseline (bench/), which
# shares nothing with the engine.
make_corpus() {
  local mb=$1
  "$build/bin/ember-bench-gentext" "$work/data/input" "$mb" >/dev/null
  "$build/bin/ember-bench-baseline" "$work/data/input" "$work/expected.tsv" >/dev/null
  sort "$work/expected.tsv" -o "$work/expected.tsv"
}

check_output() {
  [[ -f $work/data/output/_SUCCESS ]] || fail "no _SUCCESS marker in the output directory"
  cat "$work"/data/output/part-* | sort >"$work/actual.tsv"
  if ! cmp -s "$work/expected.tsv" "$work/actual.tsv"; then
    diff "$work/expected.tsv" "$work/actual.tsv" | head -10 >&2
    fail "WordCount's output differs from the baseline's ($(wc -l <"$work/expected.tsv") words expected, $(wc -l <"$work/actual.tsv") got)"
  fi
  log "output exact: $(wc -l <"$work/actual.tsv") words"
}

# ---------------------------------------------------------------------------
case_spark_pi() {
  local out
  out=$(docker run --rm --label "$tag" "$driver_image" \
    ember-submit --master 'local[2]' /opt/ember/examples/libsparkpi.so 20 2>&1) ||
    fail "SparkPi failed in the driver image: $out"
  grep -Eq '^Pi is roughly 3\.14[0-9]*$' <<<"$out" || fail "SparkPi printed no estimate of pi: $out"
  log "$out"
}

case_cluster() {
  mkdir -p "$work/data"
  chmod 0777 "$work/data"
  make_corpus 64
  wordcount_app
  start_cluster "$work/app.json" "$driver_image" 2
  wait_driver 300
  if [[ $driver_rc != 0 ]]; then
    show_logs
    fail "the driver exited $driver_rc"
  fi
  docker logs "$tag-driver" 2>&1 | grep 'WordCount: wrote /data/output' >/dev/null || fail "the driver did not report the output"
  check_output
  # Both executors took part: each registered with the driver.
  local registered
  registered=$(docker logs "$tag-driver" 2>&1 | grep -Ec 'executor [0-9]+ registered with' || true)
  ((registered >= 2)) || { show_logs; fail "the driver logged $registered executor registrations, expected 2"; }
}

case_executor_killed() {
  mkdir -p "$work/data"
  chmod 0777 "$work/data"
  make_corpus 256
  wordcount_app
  start_cluster "$work/app.json" "$driver_image" 2
  # Kill executor 2 once tasks are running on the cluster.
  local deadline=$((SECONDS + 120))
  until docker logs "$tag-driver" 2>&1 | grep -E 'job [0-9]+ .* started' >/dev/null; do
    ((SECONDS < deadline)) || { show_logs; fail "no stage started within 120 s"; }
    [[ $(docker inspect -f '{{.State.Running}}' "$tag-driver") == true ]] || { show_logs; fail "the driver exited before any stage started"; }
    sleep 0.2
  done
  sleep 0.5
  [[ $(docker inspect -f '{{.State.Running}}' "$tag-driver") == true ]] ||
    fail "the job ended before an executor could be killed: the corpus is too small for this machine"
  docker kill "$tag-exec-2" >/dev/null
  log "killed executor 2"
  wait_driver 300
  if [[ $driver_rc != 0 ]]; then
    show_logs
    fail "the driver exited $driver_rc after an executor was killed"
  fi
  docker logs "$tag-driver" 2>&1 | grep -E 'executor 2 lost' >/dev/null ||
    { show_logs; fail "the driver never noticed that executor 2 was lost"; }
  check_output
}

case_hardened() {
  local image size labels
  for image in "$driver_image" "$executor_image" "$operator_image"; do
    [[ $(docker run --rm --label "$tag" --entrypoint id "$image" -u) == "$UID_EMBER" ]] ||
      fail "$image does not run as UID $UID_EMBER"
    [[ $(docker image inspect -f '{{.Config.User}}' "$image") == "$UID_EMBER:$UID_EMBER" ]] ||
      fail "$image's USER is not numeric $UID_EMBER:$UID_EMBER (runAsNonRoot needs a number)"
    # No toolchain and no -dev package in a runtime image. The listing ends
    # with END, so that a listing that never ran cannot pass for an empty one.
    local found
    found=$(docker run --rm --label "$tag" --entrypoint sh "$image" -c \
      'for t in cc gcc g++ c++ cmake; do command -v $t; done; dpkg-query -W -f "\${Package}\n" | grep -- "-dev$"; echo END') ||
      fail "could not list $image's programs and packages"
    [[ $found == *END ]] || fail "$image's listing of programs and packages was cut short: $found"
    found=${found%END}
    [[ -z ${found//[[:space:]]/} ]] || fail "$image carries a compiler or a -dev package: $found"
    # Every shared library each binary and application needs is in the image.
    local missing
    missing=$(docker run --rm --label "$tag" --entrypoint sh "$image" -c \
      'for f in /opt/ember/bin/* /opt/ember/examples/*.so; do [ -e "$f" ] && ldd "$f" | sed "s|^|$f: |"; done' | grep 'not found' || true)
    [[ -z $missing ]] || fail "$image lacks shared libraries: $missing"
    labels=$(docker image inspect -f '{{index .Config.Labels "org.opencontainers.image.version"}} {{index .Config.Labels "org.opencontainers.image.revision"}} {{index .Config.Labels "org.opencontainers.image.source"}}' "$image")
    read -r lv lr ls <<<"$labels"
    [[ $lv == "$version" ]] || fail "$image's version label is '$lv', not $version"
    [[ -n $lr && $lr != unknown ]] || fail "$image has no revision label"
    [[ -n $ls ]] || fail "$image has no source label"
    size=$(docker image inspect -f '{{.Size}}' "$image")
    ((size < 150 * 1000 * 1000)) || fail "$image is $((size / 1000000)) MB, over the 150 MB budget"
    log "$image: UID $UID_EMBER, labels $labels, $((size / 1000000)) MB"
  done
  # The driver with a read-only root and scratch on tmpfs, as in a pod.
  docker run --rm --label "$tag" "${restricted[@]}" --tmpfs /tmp "$driver_image" \
    ember-submit --master 'local[2]' /opt/ember/examples/libsparkpi.so 4 | grep '^Pi is roughly' >/dev/null ||
    fail "SparkPi failed with a read-only root"
  # The history server is in the driver image and runs there.
  docker run --rm --label "$tag" "${restricted[@]}" "$driver_image" ember-history --version |
    grep '^ember-history ' >/dev/null || fail "ember-history does not run in $driver_image"
  # Without scratch space the error says where it tried to write.
  local out
  if out=$(docker run --rm --label "$tag" "${restricted[@]}" "$driver_image" \
    ember-submit --master 'local[2]' --local-dir /var/lib/ember/x /opt/ember/examples/libsparkpi.so 2 2>&1); then
    fail "SparkPi succeeded with nowhere to write: $out"
  fi
  grep -q '/var/lib/ember/x' <<<"$out" || fail "the read-only error does not name the directory: $out"
  log "read-only root without scratch: $out"
}

# Starts CONTAINER detached and checks that docker stop ends it through the
# program's own SIGTERM handling: well before docker's 20 s kill, with the
# program's exit code rather than 137.
stop_cleanly() {
  local name=$1 pattern=$2
  shift 2
  docker run -d --name "$name" --label "$tag" "${restricted[@]}" --tmpfs /var/lib/ember "$@" >/dev/null
  local deadline=$((SECONDS + 30))
  until docker logs "$name" 2>&1 | grep -E "$pattern" >/dev/null; do
    ((SECONDS < deadline)) || { docker logs "$name" >&2; fail "$name never reached '$pattern'"; }
    [[ $(docker inspect -f '{{.State.Running}}' "$name") == true ]] || { docker logs "$name" >&2; fail "$name exited early"; }
    sleep 0.2
  done
  local start=$SECONDS
  docker stop -t 20 "$name" >/dev/null
  local took=$((SECONDS - start)) rc
  rc=$(docker inspect -f '{{.State.ExitCode}}' "$name")
  ((took < 15)) || fail "$name took $took s to stop: SIGTERM did not reach it"
  [[ $rc != 137 ]] || fail "$name was killed (137): SIGTERM did not reach it"
  docker logs "$name" 2>&1 | grep 'SIGTERM' >/dev/null || { docker logs "$name" >&2; fail "$name did not say it got SIGTERM"; }
  log "$name stopped in $took s, exit $rc"
}

case_signals() {
  mkdir -p "$work/secret"
  echo "test-secret-0123456789abcdef" >"$work/secret/secret"
  chmod 0644 "$work/secret/secret"
  local exec_args=(--driver=nowhere.invalid:7078 --executor-id=1 --app-id=a-1 --cores=1
    --secret-file=/etc/ember/secret/secret --local-dir=/var/lib/ember/executor)
  # Through tini (docker run's default entrypoint).
  stop_cleanly "$tag-tini" 'registering with driver' -v "$work/secret:/etc/ember/secret:ro" \
    "$executor_image" ember-executor "${exec_args[@]}"
  # As PID 1, the way a pod's command runs it.
  stop_cleanly "$tag-pid1" 'registering with driver' -v "$work/secret:/etc/ember/secret:ro" \
    --entrypoint ember-executor "$executor_image" "${exec_args[@]}"
  # A driver waiting for executors that never come.
  stop_cleanly "$tag-driver" 'driver listening on' -v "$work/secret:/etc/ember/secret:ro" \
    --entrypoint ember-driver "$driver_image" --master='external[2]' --app-id=a-1 --bind-address=0.0.0.0 \
    --port=7078 --secret-file=/etc/ember/secret/secret --local-dir=/var/lib/ember/driver \
    /opt/ember/examples/libsparkpi.so
}

case_operator_no_cluster() {
  local out rc=0 start=$SECONDS
  out=$(timeout 60 docker run --rm --label "$tag" "${restricted[@]}" "$operator_image" 2>&1) || rc=$?
  ((rc != 0)) || fail "the operator exited 0 with no cluster: $out"
  ((rc != 124)) || fail "the operator kept running with no cluster"
  grep -Eiq 'KUBERNETES_SERVICE_HOST|kubeconfig|in-cluster' <<<"$out" ||
    fail "the operator's error does not say what is missing: $out"
  log "operator without a cluster, exit $rc after $((SECONDS - start)) s: $(tail -1 <<<"$out")"
}

case_out_of_tree() {
  # A copy outside the repository, so nothing of Ember's tree can leak in.
  cp -r "$repo/examples/out-of-tree" "$work/src"
  local out
  out=$(mktemp "$work/build.XXXXXX")
  if ! DOCKER_BUILDKIT=0 docker build --build-arg EMBER_VERSION="$version" --label "$tag" -t "$tag-app" \
    "$work/src" >"$out" 2>&1; then
    tail -30 "$out" >&2
    fail "docker build of examples/out-of-tree failed"
  fi
  mkdir -p "$work/data/input"
  chmod -R 0777 "$work/data"
  printf 'a bb ccc dddd\nbb ccc\n\tccc  e\n' >"$work/data/input/text.txt"
  local want=$'1\t2\n2\t2\n3\t3\n4\t1'
  local got
  got=$(docker run --rm --label "$tag" "${restricted[@]}" --tmpfs /tmp -v "$work/data:/data:ro" "$tag-app" \
    ember-submit --master 'local[2]' /opt/app/libwordlengths.so /data/input/text.txt) ||
    fail "WordLengths failed in local[2]"
  [[ $got == "$want" ]] || fail "WordLengths printed '$got', expected '$want'"
  # On a cluster, where executors have only the stock image and fetch the
  # library from the driver.
  cat >"$work/app.json" <<EOF
{"metadata": {"name": "wordlengths", "namespace": "jobs", "uid": "0b1e7d3c-2f4a-4e8b-9c6d-5a4b3c2d1e0f"},
 "spec": {"image": "$tag-app", "mainApplicationFile": "local:///opt/app/libwordlengths.so",
          "arguments": ["/data/input/text.txt"],
          "executor": {"image": "$executor_image", "instances": 2, "cores": 1}}}
EOF
  start_cluster "$work/app.json" "$tag-app" 2
  wait_driver 180
  [[ $driver_rc == 0 ]] || { show_logs; fail "WordLengths on the cluster: the driver exited $driver_rc"; }
  got=$(docker logs "$tag-driver" 2>/dev/null)
  [[ $got == "$want" ]] || { show_logs; fail "WordLengths on the cluster printed '$got', expected '$want'"; }
  log "out-of-tree application built in $sdk_image, run in local[2] and on 2 executor containers"
}

case_dockerfiles() {
  local stage f
  stage() { sed -n '/^# ---- build stage/,/^# ---- /p' "$1" | sed '$d'; }
  stage "$repo/Dockerfile.driver" >"$work/driver.stage"
  [[ -s $work/driver.stage ]] || fail "Dockerfile.driver has no '# ---- build stage' section"
  # The build stage installs what hack/install-deps.sh installs for a build.
  local pkgs p
  pkgs=$(sed -n '/apt-get install/,/rm -rf/p' "$work/driver.stage" | tr ' \\' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' |
    grep -vx -e apt-get -e install -e rm -e '-rf' || true)
  [[ -n $pkgs ]] || fail "no packages found in the build stage's apt-get install"
  for p in $pkgs; do
    grep -qwF -- "$p" "$repo/hack/install-deps.sh" ||
      fail "the build stage installs $p, which hack/install-deps.sh does not"
  done
  for f in Dockerfile.executor Dockerfile.operator; do
    stage "$repo/$f" | diff "$work/driver.stage" - >&2 ||
      fail "$f's build stage differs from Dockerfile.driver's, so Docker's cache cannot share it"
  done
}

case_install() {
  local prefix=$work/prefix got
  cmake --install "$build" --prefix "$prefix" >/dev/null || fail "cmake --install failed"
  for f in bin/ember-submit bin/ember-driver bin/ember-executor bin/ember-operator lib/libember.so \
    include/ember/ember.h include/ember/status.h lib/cmake/Ember/EmberConfig.cmake lib/pkgconfig/ember.pc \
    examples/libsparkpi.so examples/libwordcount.so; do
    [[ -e $prefix/$f ]] || fail "cmake --install did not install $f"
  done
  # Moved after installing: every path must be found relative to the tree.
  mv "$prefix" "$work/moved"
  prefix=$work/moved
  cp -r "$repo/examples/out-of-tree" "$work/src"
  printf 'a bb ccc dddd\nbb ccc\n\tccc  e\n' >"$work/text.txt"
  local want=$'1\t2\n2\t2\n3\t3\n4\t1'
  cmake -S "$work/src" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" >"$work/cmake.log" 2>&1 ||
    { cat "$work/cmake.log" >&2; fail "configuring the out-of-tree example against the install failed"; }
  cmake --build "$work/cmake-build" >"$work/build.log" 2>&1 ||
    { cat "$work/build.log" >&2; fail "building the out-of-tree example against the install failed"; }
  got=$("$prefix/bin/ember-submit" --master 'local-cluster[2,1]' "$work/cmake-build/libwordlengths.so" "$work/text.txt") ||
    fail "the CMake-built WordLengths failed"
  [[ $got == "$want" ]] || fail "the CMake-built WordLengths printed '$got', expected '$want'"
  local flags
  flags=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs ember) || fail "pkg-config does not find ember"
  # shellcheck disable=SC2086
  g++ -shared -fPIC -O1 -o "$work/libwl.so" "$work/src/word_lengths.cc" $flags || fail "building with pkg-config's flags failed"
  got=$("$prefix/bin/ember-submit" --master 'local[2]' "$work/libwl.so" "$work/text.txt") || fail "the pkg-config-built WordLengths failed"
  [[ $got == "$want" ]] || fail "the pkg-config-built WordLengths printed '$got', expected '$want'"
  # An install tree with a part missing is named, not half-found.
  rm "$prefix/include/ember/ember.h"
  if cmake -S "$work/src" -B "$work/broken" -DCMAKE_PREFIX_PATH="$prefix" >"$work/broken.log" 2>&1; then
    fail "find_package(Ember) accepted an install tree without its headers"
  fi
  # CMake wraps long messages, so a long TMPDIR can split the path from
  # "is missing": join the lines before looking.
  tr -s ' \n' '  ' <"$work/broken.log" | grep 'include/ember/ember.h is missing' >/dev/null ||
    { cat "$work/broken.log" >&2; fail "the error does not name the missing header"; }
  log "installed, moved, and built against with find_package(Ember) and pkg-config"
}

"case_$case_name"
echo "PASS: $case_name"
