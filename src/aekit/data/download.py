"""MNIST and Fashion-MNIST as the official IDX files, downloaded once into a cache folder and verified with SHA-256.

MNIST: LeCun, Cortes & Burges (https://yann.lecun.com/exdb/mnist/), fetched from the mirror
torchvision uses; :mod:`aekit.data.mnist` turns them (or, without them, the package index's copy)
into the registered "mnist". Fashion-MNIST: Xiao, Rasul & Vollgraf, arXiv:1708.07747 (Zalando
Research, MIT license). Each data set is four gzipped IDX files; the loaded Fashion-MNIST is the
60,000 training images followed by the 10,000 test images, with ``test_start=60000`` marking the
official test set.

Cache folder: ``cache_dir``, else ``$AEKIT_CACHE``, else ``~/.cache/aekit``; one subfolder per data
set. A download streams through SHA-256 into a temporary file that is renamed into place only when
the digest matches (a progress bar shows on a terminal); a cached file is verified again before
every use. Each :class:`DownloadError` raised here carries ``reason``, a few words for a caller
that tries another source.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from aekit.data.dataset import Dataset, register_dataset
from aekit.data.idx import idx_images, read_idx
from aekit.errors import DownloadError
from aekit.io import atomic_write

logger = logging.getLogger(__name__)

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

DEFAULT_URLS = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}
URL_ENV = {"mnist": "AEKIT_MNIST_URL", "fashion-mnist": "AEKIT_FASHION_MNIST_URL"}

# SHA-256 of each file, from TensorFlow Datasets' checksum files (tensorflow/datasets,
# tensorflow_datasets/url_checksums/mnist.txt and fashion_mnist.txt); the MNIST digests agree with
# the sums other projects publish for the same files (sizes 9,912,422 / 28,881 / 1,648,877 / 4,542
# bytes; Fashion-MNIST 26,421,880 / 29,515 / 4,422,102 / 5,148 bytes).
SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}

CLASSES = {
    "mnist": [str(d) for d in range(10)],
    # Fashion-MNIST README, "Labels"
    "fashion-mnist": [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ],
}

_CHUNK = 1 << 16  # bytes read from the network at a time


def cache_folder(name: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the files of ``name`` are kept: ``<cache_dir | $AEKIT_CACHE | ~/.cache/aekit>/<name>``."""
    root = cache_dir or os.environ.get("AEKIT_CACHE") or Path.home() / ".cache" / "aekit"
    return Path(root).expanduser() / name


def resolve_base_url(name: str, url: str | None = None) -> str:
    """The folder URL the files of ``name`` come from: ``url``, else its env variable, else the default."""
    chosen = url or os.environ.get(URL_ENV[name]) or DEFAULT_URLS[name]
    return chosen if chosen.endswith("/") else chosen + "/"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_error(message: str, reason: str) -> DownloadError:
    """A DownloadError with ``reason``: what went wrong in a few words, without the advice."""
    error = DownloadError(message)
    error.reason = reason
    return error


def _download(url: str, target: Path, expected: str, name: str, folder: Path, timeout: float) -> None:
    """Stream ``url`` through SHA-256 into a temporary file; rename it to ``target`` only if it matches."""
    def write(tmp: str) -> None:
        digest = hashlib.sha256()
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
                size = response.headers.get("Content-Length")
                with tqdm(total=int(size) if size and size.isdigit() else None, desc=target.name, unit="B",
                          unit_scale=True, unit_divisor=1024, leave=False, disable=None) as bar:
                    for block in iter(lambda: response.read(_CHUNK), b""):
                        digest.update(block)
                        out.write(block)
                        bar.update(len(block))
        except urllib.error.HTTPError as error:
            raise _offline(name, target.name, url, f"HTTP {error.code} {error.reason}", folder) from error
        except urllib.error.URLError as error:
            raise _offline(name, target.name, url, str(error.reason), folder) from error
        except (OSError, http.client.HTTPException) as error:  # timeouts, resets, short reads
            raise _offline(name, target.name, url, str(error) or type(error).__name__, folder) from error
        actual = digest.hexdigest()
        if actual != expected:
            raise download_error(
                f"Checksum mismatch for {name} file {target.name} downloaded from {url}: expected "
                f"SHA-256 {expected}, got {actual}. Nothing was saved; try again later, or set "
                f"{URL_ENV[name]} to another mirror.",
                f"{target.name} from {url} failed its SHA-256 check (refused)",
            )

    logger.info("Downloading %s file %s from %s", name, target.name, url)
    atomic_write(target, write)


def _offline(name: str, file: str, url: str, reason: str, folder: Path) -> DownloadError:
    return download_error(
        f"Could not download {name} file {file} from {url} ({reason}). aekit needs the internet "
        f"once for this data set; or copy the files into {folder}.",
        f"could not download {file} from {url} ({reason})",
    )


def fetch(
    name: str,
    *,
    cache_dir: str | os.PathLike | None = None,
    base_url: str | None = None,
    download: bool = True,
    timeout: float = 60.0,
) -> dict[str, Path]:
    """Paths of the four verified files of ``name`` ("mnist" or "fashion-mnist"), downloading what is missing.

    ``base_url`` overrides ``$AEKIT_MNIST_URL`` / ``$AEKIT_FASHION_MNIST_URL`` and the default mirror.
    """
    if name not in SHA256:
        raise download_error(f"No download is known for {name!r}; known: {', '.join(sorted(SHA256))}.", "unknown data set")
    folder = cache_folder(name, cache_dir)
    url_root = resolve_base_url(name, base_url)
    paths = {}
    for key, file in FILES.items():
        target, expected = folder / file, SHA256[name][file]
        if target.exists():
            actual = sha256_of(target)
            if actual == expected:
                paths[key] = target
                continue
            if not download:
                raise download_error(
                    f"Cached {name} file {target} is corrupt: expected SHA-256 {expected}, got {actual}. "
                    "Delete it and allow downloads, or copy a good copy there.",
                    f"{target} fails its SHA-256 check",
                )
            logger.warning("Cached %s file %s fails its SHA-256 check; downloading it again.", name, target)
            target.unlink()
        elif not download:
            raise download_error(
                f"{name} file {file} is not in {folder} and download=False. aekit needs the internet "
                f"once for this data set (load it with download allowed); or copy the files into {folder}.",
                f"{file} is not in {folder}",
            )
        _download(url_root + file, target, expected, name, folder, timeout)
        paths[key] = target
    return paths


def load_idx_dataset(name: str, cache_dir: str | None = None, download: bool = True) -> Dataset:
    """Train and test sets of ``name`` in one Dataset: x (70000, 1, 28, 28) in [0, 1], test_start=60000."""
    paths = fetch(name, cache_dir=cache_dir, download=download)
    parts = {}
    for split in ("train", "test"):
        images, labels = read_idx(paths[f"{split}_images"]), read_idx(paths[f"{split}_labels"])
        if labels.shape != (images.shape[0],):
            raise DownloadError(
                f"{name} {split} files disagree: {images.shape[0]} images but {labels.shape} labels. "
                f"Delete {cache_folder(name, cache_dir)} and download again."
            )
        parts[split] = (idx_images(images, f"'{paths[f'{split}_images']}'"), labels.astype(np.int64))
    x = np.concatenate([parts["train"][0], parts["test"][0]])  # (n_train + n_test, 1, 28, 28)
    y = np.concatenate([parts["train"][1], parts["test"][1]])
    return Dataset(x, y, name, list(CLASSES[name]), test_start=len(parts["train"][1]))


@register_dataset(
    "fashion-mnist", "Fashion-MNIST, 60000 train + 10000 test clothing images, 28x28 (downloads 30 MB once)",
    origin="Xiao, Rasul & Vollgraf (Zalando Research), arXiv:1708.07747; licence MIT",
)
def load_fashion_mnist(cache_dir: str | None = None, download: bool = True) -> Dataset:
    return load_idx_dataset("fashion-mnist", cache_dir, download)
