"""Test set-up: one torch thread (2 threads slow down 3-4x as soon as another process is busy)."""

import os

os.environ.setdefault("AEKIT_CACHE", os.path.join(os.path.dirname(__file__), "..", ".pytest_cache", "aekit"))

import torch  # noqa: E402

torch.set_num_threads(1)
