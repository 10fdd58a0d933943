#!/usr/bin/env bash
# Runs every test suite: unit, integration and control-plane. The control
# plane is started by the control-plane tests' GoogleTest environment and
# stopped again when they finish.
set -euo pipefail
build=${1:-build}
shift || true
cd "$build"
# Two at a time: the machines have two cores, and the control-plane suite is
# marked RUN_SERIAL so it runs alone.
ctest --output-on-failure --timeout 900 -j2 "$@"
