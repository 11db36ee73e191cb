#!/usr/bin/env bash
# The GPU check (bench/gpu_check.py): every accelerator path's throughput and its agreement with the CPU,
# in one table, in well under 8 minutes on one GPU. `--cpu` runs it all on the CPU at small sizes (CI does).
#
# On a machine without this project's environment (a lent GPU with its own torch), carry the wheels of what
# it lacks in .whl/ (polars, diffusers, safetensors, ...: see the device notes); they are installed first.
set -euo pipefail
cd "$(dirname "$0")/.."
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:${PYTHONPATH:-}"
fi
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
PYTHONPATH="src:${PYTHONPATH:-}" PYTHONUNBUFFERED=1 exec "$PYTHON" bench/gpu_check.py "$@"
