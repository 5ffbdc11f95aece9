#!/usr/bin/env bash
# Creates .venv and installs the project's requirements; --dev adds the test tools and Debian's chromium for the
# browser tests. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
[ "${1:-}" = "--dev" ] && dev=1

python3 -m venv .venv
if [ "$dev" = 1 ]; then
  .venv/bin/python -m pip install -q -r requirements-dev.txt
  if ! command -v chromium >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium >/dev/null
  fi
else
  .venv/bin/python -m pip install -q -r requirements.txt
fi
# the project itself, editable: the `vton` command, and `import vton` / `import training` from anywhere (benchmarks)
.venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
