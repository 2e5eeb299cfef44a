#!/usr/bin/env bash
# Set up aekit on a fresh machine: a virtual environment in .venv with torch==2.13.0 (CPU) installed
# FIRST, so that nothing can make pip resolve another (multi-GB CUDA) build, then aekit itself.
# Idempotent: a second run only checks what is there.
# --test also installs Debian's chromium (when /usr/bin/chromium is missing) for the browser tests of
# the HTML report and the latent explorer, and fails when it cannot; the docs extra (mkdocs, for CI's site
# build); and the export extra (onnx, onnxscript, onnxruntime), so the ONNX export is tested too.
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_TEST=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1 ;;
    *) echo "usage: bash scripts/setup.sh [--test]" >&2; exit 2 ;;
  esac
done
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# (the grep hides this machine's notes about absent local mirrors; pip's own failure still fails the script)
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@" 2>&1 | { grep -v "is ignored: it is neither" || true; }; }
if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
  pip install "torch==2.13.0"
fi
EXTRAS=test
# --test: docs (mkdocs, its theme and mkdocstrings, for CI's mkdocs build --strict) and export (onnx, for its tests)
if [ "$WITH_TEST" = 1 ]; then EXTRAS=test,docs,export; fi
pip install -e ".[$EXTRAS]"
if [ "$WITH_TEST" = 1 ]; then
  bash scripts/install_browser.sh  # fails loudly when chromium cannot be installed
  .venv/bin/python -c "import playwright.sync_api" || { echo "error: playwright is missing from .venv;" \
    "the browser test of the report needs it (pip install -e '.[test]')." >&2; exit 1; }
  .venv/bin/python -c "import onnx, onnxscript, onnxruntime" || { echo "error: the export extra is missing from" \
    ".venv; the ONNX export tests need it (pip install -e '.[export]')." >&2; exit 1; }
  .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" || {
    echo "error: installing aekit's extras changed torch from 2.13.0" >&2; exit 1; }
fi
.venv/bin/python -c "import torch, aekit; print(f'aekit {aekit.__version__} ready (torch {torch.__version__})')"
