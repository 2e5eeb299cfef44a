"""Test set-up: one torch thread (2 threads slow down 3-4x as soon as another process is busy)."""

import os

os.environ.setdefault("AEKIT_CACHE", os.path.join(os.path.dirname(__file__), "..", ".pytest_cache", "aekit"))

import torch  # noqa: E402

torch.set_num_threads(1)


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def ort():
    """onnxruntime, for the ONNX export's parity tests: skipped where the export extra is not installed, unless
    CI (which installs it: bash scripts/setup.sh --test) is running, where it fails."""
    try:
        import onnx  # noqa: F401
        import onnxruntime
        import onnxscript  # noqa: F401
    except ImportError as error:
        if any(os.environ.get(name, "").strip() not in ("", "0", "false") for name in ("AEKIT_REQUIRE_BROWSER", "CI")):
            pytest.fail(f"The export extra must be installed here (CI): {error}. bash scripts/setup.sh --test installs it.")
        pytest.skip(f"the export extra is not installed ({error}): pip install -e '.[export]'")
    return onnxruntime
