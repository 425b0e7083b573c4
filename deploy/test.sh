#!/usr/bin/env bash
# test: the one command that checks the whole project on a fresh Debian bookworm machine: installs the
# packages, builds a Release tree with warnings as errors into build/, and runs every test (cmocka unit
# tests and the integration tests that start real daemons) through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DRENKEI_WERROR=ON
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure
