"""Downloads of MNIST and Fashion-MNIST, offline: a local HTTP server serves small generated IDX files.

The checksum table (and the digest of converted MNIST) is patched to the generated files'; nothing
leaves 127.0.0.1, and pip sees only an empty local folder (the package index is MNIST's next source,
tested in test_data_mnist.py).
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import socket
import struct
import threading

import numpy as np
import pytest

from aekit.data import download as download_module
from aekit.data import load_dataset, mnist
from aekit.errors import DownloadError

N_TRAIN, N_TEST = 20, 10
NAMES = ["mnist", "fashion-mnist"]


def idx_gz(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


def generated_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (N_TRAIN, 28, 28)).astype(np.uint8),
        "train-labels-idx1-ubyte.gz": np.arange(N_TRAIN) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (N_TEST, 28, 28)).astype(np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.arange(N_TEST) % 10,
    }


def generated_files() -> dict[str, bytes]:
    return {name: idx_gz(array) for name, array in generated_arrays().items()}


def converted_sha256() -> str:
    """The digest of generated MNIST once converted: train (the last sixth for validation), then test."""
    a = generated_arrays()
    images = np.concatenate([a["train-images-idx3-ubyte.gz"], a["t10k-images-idx3-ubyte.gz"]])
    labels = np.concatenate([a["train-labels-idx1-ubyte.gz"], a["t10k-labels-idx1-ubyte.gz"]]).astype("<i8")
    sizes = np.array([N_TRAIN - N_TRAIN // 6, N_TRAIN // 6, N_TEST], dtype="<i8")
    return mnist.content_sha256(images, labels, sizes)


class Server:
    """A ThreadingHTTPServer on 127.0.0.1 serving ``files`` and counting the requests it gets."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files, self.requests = files, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = 5  # a stuck client cannot hold a thread for long

            def do_GET(self) -> None:
                name = self.path.rsplit("/", 1)[-1]
                server.requests.append(name)
                body = server.files.get(name)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # keep the test output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data/"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No proxy, no real cache folder, no mirror from the environment."""
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("AEKIT_CACHE", str(tmp_path / "default-cache"))
    for var in download_module.URL_ENV.values():
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "empty-index").mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "empty-index"))


@pytest.fixture
def files(monkeypatch):
    """The generated files, with the checksum table patched to their digests."""
    files = generated_files()
    digests = {name: hashlib.sha256(body).hexdigest() for name, body in files.items()}
    monkeypatch.setattr(download_module, "SHA256", {name: dict(digests) for name in NAMES})
    monkeypatch.setattr(mnist, "SHA256", converted_sha256())
    return files


@pytest.fixture
def server(files):
    server = Server(files)
    yield server
    server.close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"  # nothing listens there any more


def cache_contents(folder) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


@pytest.mark.parametrize("name", NAMES)
def test_download_then_load(name, server, tmp_path, monkeypatch):
    monkeypatch.setenv(download_module.URL_ENV[name], server.url)
    ds = load_dataset(name, cache_dir=str(tmp_path / "cache"))
    assert ds.x.shape == (N_TRAIN + N_TEST, 1, 28, 28) and ds.x.dtype == np.float32
    assert 0.0 <= ds.x.min() and ds.x.max() <= 1.0
    assert ds.test_start == N_TRAIN and ds.name == name
    assert ds.val_start == (N_TRAIN - N_TRAIN // 6 if name == "mnist" else None)  # MNIST's fixed split
    np.testing.assert_array_equal(ds.y, np.r_[np.arange(N_TRAIN) % 10, np.arange(N_TEST) % 10])
    assert len(ds.classes) == 10
    assert sorted(server.requests) == sorted(download_module.FILES.values())
    converted = [".mnist.lock", "mnist.npz"] if name == "mnist" else []  # the IDX files stay
    assert cache_contents(tmp_path / "cache" / name) == sorted([*download_module.FILES.values(), *converted])


def test_second_load_uses_the_cache(server, tmp_path):
    paths = download_module.fetch("mnist", cache_dir=tmp_path, base_url=server.url)
    assert len(server.requests) == 4
    assert all(p.parent == tmp_path / "mnist" for p in paths.values())
    for _ in range(2):
        ds = load_dataset("mnist", cache_dir=str(tmp_path), download=False)
        assert len(ds) == N_TRAIN + N_TEST
    assert download_module.fetch("mnist", cache_dir=tmp_path, base_url=server.url) == paths
    assert len(server.requests) == 4  # no request after the first download


def test_default_cache_folder_comes_from_the_environment(server, tmp_path):
    download_module.fetch("fashion-mnist", base_url=server.url)
    assert len(cache_contents(tmp_path / "default-cache" / "fashion-mnist")) == 4


def test_corrupt_cached_file_is_downloaded_again(server, tmp_path, caplog):
    download_module.fetch("mnist", cache_dir=tmp_path, base_url=server.url)
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    download_module.fetch("mnist", cache_dir=tmp_path, base_url=server.url)
    assert server.requests[4:] == ["t10k-labels-idx1-ubyte.gz"]
    assert "fails its SHA-256 check" in caplog.text
    assert load_dataset("mnist", cache_dir=str(tmp_path), download=False).test_start == N_TRAIN


def test_corrupt_cached_file_without_download(server, tmp_path):
    download_module.fetch("mnist", cache_dir=tmp_path, base_url=server.url)
    (tmp_path / "mnist" / "train-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    match = r"Cached mnist file .*train-labels-idx1-ubyte\.gz is corrupt: expected SHA-256 [0-9a-f]{64}, got "
    with pytest.raises(DownloadError, match=match):
        download_module.fetch("mnist", cache_dir=tmp_path, download=False)


def test_checksum_mismatch_keeps_nothing(server, files, tmp_path, monkeypatch):
    wrong = "0" * 64
    monkeypatch.setitem(download_module.SHA256["mnist"], "train-labels-idx1-ubyte.gz", wrong)
    actual = hashlib.sha256(files["train-labels-idx1-ubyte.gz"]).hexdigest()
    with pytest.raises(
        DownloadError,
        match=rf"Checksum mismatch for mnist file train-labels-idx1-ubyte\.gz downloaded from "
        rf"{server.url}train-labels-idx1-ubyte\.gz: expected SHA-256 {wrong}, got {actual}\. Nothing was saved",
    ):
        download_module.fetch("mnist", cache_dir=tmp_path, base_url=server.url)
    assert "train-labels-idx1-ubyte.gz" not in cache_contents(tmp_path / "mnist")
    assert not any(name.endswith(".tmp") for name in cache_contents(tmp_path / "mnist"))


def test_server_down_gives_the_offline_message(files, tmp_path):
    url = closed_port_url()
    with pytest.raises(
        DownloadError,
        match=rf"Could not download mnist file train-images-idx3-ubyte\.gz from {url}train-images-idx3-ubyte\.gz"
        rf" "
        rf"\(.*refused.*\)\. aekit needs the internet once for this data set; or copy the files into .*mnist\.",
    ):
        download_module.fetch("mnist", cache_dir=tmp_path, base_url=url, timeout=5)
    assert cache_contents(tmp_path / "mnist") == []


def test_http_error_gives_the_offline_message(server, tmp_path):
    del server.files["t10k-images-idx3-ubyte.gz"]
    match = r"Could not download fashion-mnist file t10k-images-idx3-ubyte\.gz from .* \(HTTP 404 Not Found\)"
    with pytest.raises(DownloadError, match=match):
        download_module.fetch("fashion-mnist", cache_dir=tmp_path, base_url=server.url)


@pytest.mark.parametrize("name, match", [
    ("fashion-mnist", r"fashion-mnist file train-images-idx3-ubyte\.gz is not in .*fashion-mnist and download=False\. "
                      r"aekit needs the internet once"),
    ("mnist", r"MNIST is not in .*mnist and could not be fetched \(official IDX files: train-images-idx3-ubyte\.gz is "
              r"not in .*\)\. Ways to get it"),
])
def test_no_download_and_no_cache(name, match, server, tmp_path):
    with pytest.raises(DownloadError, match=match):
        load_dataset(name, cache_dir=str(tmp_path), download=False)
    assert server.requests == []


@pytest.mark.parametrize(
    "argument, env, expected",
    [
        ("http://a/x/", "http://b/", "http://a/x/"),
        (None, "http://b/y", "http://b/y/"),
        (None, None, "https://ossci-datasets.s3.amazonaws.com/mnist/"),
    ],
)
def test_base_url_precedence(argument, env, expected, monkeypatch):
    if env is not None:
        monkeypatch.setenv("AEKIT_MNIST_URL", env)
    assert download_module.resolve_base_url("mnist", argument) == expected


def test_every_file_has_a_real_looking_digest():
    hex_digits = set("0123456789abcdef")
    for name in NAMES:
        digests = download_module.SHA256[name]
        assert set(digests) == set(download_module.FILES.values())
        assert all(len(d) == 64 and set(d) <= hex_digits for d in digests.values())
        assert len(set(digests.values())) == 4
