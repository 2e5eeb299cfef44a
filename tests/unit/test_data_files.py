"""Reading user files (.npy, .npz, .csv, IDX, image folders) and the error each broken input gives."""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest
from PIL import Image

from aekit.data import image_folder, load_dataset
from aekit.data import memory as memory_policy
from aekit.data.image_folder import ImageFiles
from aekit.errors import ConfigError, DataError, DataFileNotFoundError


@pytest.fixture(autouse=True)
def in_memory_by_default(monkeypatch):
    monkeypatch.setenv("AEKIT_MMAP", "0")


def table(n: int = 12, d: int = 4) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, d)).astype(np.float32)


def write_idx(path, array: np.ndarray) -> None:
    """An IDX file (gzipped for a .gz name): magic 0x0000 08 ndim, big-endian sizes, uint8 values."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)


def write_image(path, size=(6, 5), mode="L", value=128) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    color = value if mode == "L" else (value, 0, 255)
    Image.new(mode, size, color).save(path)


# --- .npy -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape, sample_shape",
    [((12, 4), (4,)), ((12, 5, 6), (1, 5, 6)), ((12, 3, 5, 6), (3, 5, 6))],
)
@pytest.mark.parametrize("mmap", ["0", "1"])
def test_npy_shapes(shape, sample_shape, mmap, tmp_path, monkeypatch):
    monkeypatch.setenv("AEKIT_MMAP", mmap)
    x = np.random.default_rng(0).uniform(0, 9, size=shape)  # float64 on disk, not rescaled
    np.save(tmp_path / "data.npy", x)
    ds = load_dataset(str(tmp_path / "data.npy"))
    assert ds.sample_shape == sample_shape and ds.name == "data"
    assert ds.is_streamed == (mmap == "1")
    np.testing.assert_allclose(ds.array(), x.reshape(12, *sample_shape).astype(np.float32))
    assert ds.labels is None


@pytest.mark.parametrize("label_column, kept", [(0, [1, 2, 3]), (-1, [0, 1, 2]), (2, [0, 1, 3])])
def test_npy_label_column(label_column, kept, tmp_path):
    x = table()
    x[:, [0, 2, 3]] = np.arange(12)[:, None] % 3 * 10  # labels 0, 10, 20
    np.save(tmp_path / "t.npy", x)
    ds = load_dataset(tmp_path / "t.npy", label_column=label_column)
    np.testing.assert_array_equal(ds.x, x[:, kept])
    np.testing.assert_array_equal(ds.y, np.arange(12) % 3)
    assert ds.classes == ["0", "10", "20"]


# --- .npz -------------------------------------------------------------------------------------------
NPZ_KEYS = [(x, y) for x in ("x", "X", "data", "images") for y in ("y", "labels", "target", None)]


@pytest.mark.parametrize("x_key, y_key", NPZ_KEYS + [("anything", None)])  # or the only array
def test_npz_keys(x_key, y_key, tmp_path):
    x = table()
    arrays = {x_key: x}
    if y_key is not None:
        arrays[y_key] = np.array(["cat", "dog", "eel"] * 4)
    np.savez(tmp_path / "a.npz", **arrays)
    ds = load_dataset(tmp_path / "a.npz")
    np.testing.assert_array_equal(ds.x, x)
    if y_key is None:
        assert ds.y is None
    else:
        assert ds.classes == ["cat", "dog", "eel"]
        np.testing.assert_array_equal(ds.y, [0, 1, 2] * 4)


def test_npz_images(tmp_path):
    np.savez_compressed(tmp_path / "img.npz", images=np.ones((4, 7, 7)), labels=np.array([3, 1, 3, 1]))
    ds = load_dataset(tmp_path / "img.npz")
    assert ds.sample_shape == (1, 7, 7)
    np.testing.assert_array_equal(ds.y, [1, 0, 1, 0])
    assert ds.classes == ["1", "3"]


# --- .csv -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("header", [True, False])
def test_csv_numeric(header, tmp_path):
    text = ("a,b,c\n" if header else "") + "1,2,3\n4.5,-5,6e2\n\n7,8,9\n"
    (tmp_path / "t.csv").write_text(text)
    ds = load_dataset(tmp_path / "t.csv")
    np.testing.assert_array_equal(ds.x, [[1, 2, 3], [4.5, -5, 600], [7, 8, 9]])
    assert ds.x.dtype == np.float32 and ds.y is None and ds.name == "t"


@pytest.mark.parametrize(
    "label_column, text",
    [
        (-1, "f1,f2,kind\n1,2,setosa\n3,4,virginica\n5,6,setosa\n"),
        (0, "setosa,1,2\nvirginica,3,4\nsetosa,5,6\n"),
    ],
)
def test_csv_text_labels(label_column, text, tmp_path):
    (tmp_path / "iris.csv").write_text(text)
    ds = load_dataset(tmp_path / "iris.csv", label_column=label_column)
    np.testing.assert_array_equal(ds.x, [[1, 2], [3, 4], [5, 6]])
    assert ds.classes == ["setosa", "virginica"]
    np.testing.assert_array_equal(ds.y, [0, 1, 0])


def test_csv_numeric_labels(tmp_path):
    (tmp_path / "t.csv").write_text("1,2,7\n3,4,2\n5,6,7\n")
    ds = load_dataset(tmp_path / "t.csv", label_column=2)
    assert ds.classes == ["2", "7"]
    np.testing.assert_array_equal(ds.y, [1, 0, 1])


# --- IDX ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_images_with_labels(suffix, tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(6, 4, 5), dtype=np.uint8)
    labels = np.array([0, 1, 2, 0, 1, 2], dtype=np.uint8)
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels)
    ds = load_dataset(tmp_path / f"train-images-idx3-ubyte{suffix}")
    assert ds.x.shape == (6, 1, 4, 5) and ds.name == "train"
    np.testing.assert_allclose(ds.x[:, 0], images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.y, labels)


def test_idx_images_without_labels(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((3, 2, 2)))
    assert load_dataset(tmp_path / "t10k-images-idx3-ubyte").y is None


# --- image folders -------------------------------------------------------------------------------------
def test_image_folder_grayscale_unlabelled(tmp_path):
    for i in range(3):
        write_image(tmp_path / "pics" / f"{i}.png", value=51 * i)
    (tmp_path / "pics" / "notes.txt").write_text("ignored")
    ds = load_dataset(tmp_path / "pics")
    assert ds.x.shape == (3, 1, 5, 6) and ds.y is None and ds.name == "pics"
    np.testing.assert_allclose(ds.x[:, 0, 0, 0], [0, 0.2, 0.4], rtol=1e-6)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_image_folder_classes_and_color(suffix, tmp_path):
    write_image(tmp_path / "pics" / "dog" / f"a{suffix}", mode="RGB")
    write_image(tmp_path / "pics" / "cat" / f"b{suffix}", mode="L")
    write_image(tmp_path / "pics" / "cat" / f"c{suffix}", mode="L")
    ds = load_dataset(str(tmp_path / "pics") + "/")
    assert ds.x.shape == (3, 3, 5, 6)  # any RGB image -> 3 channels for all
    assert ds.classes == ["cat", "dog"]
    np.testing.assert_array_equal(ds.y, [0, 0, 1])
    assert 0.0 <= ds.x.min() and ds.x.max() <= 1.0
    if suffix == ".png":
        np.testing.assert_allclose(ds.x[2, :, 0, 0], [128 / 255, 0, 1], rtol=1e-6)


# --- image folders larger than memory: decoded on demand -----------------------------------------------
def write_noise_folder(folder, color: bool, n: int = 40, size=(7, 5)) -> None:
    """``n`` PNGs of random pixels in three class subfolders; with ``color`` every fourth one is RGB."""
    rng = np.random.default_rng(0)
    for i in range(n):
        rgb = color and i % 4 == 0
        pixels = rng.integers(0, 256, (size[1], size[0], 3) if rgb else (size[1], size[0]), dtype=np.uint8)
        path = folder / "abc"[i % 3] / f"{i:02d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path)


@pytest.fixture
def decodes(monkeypatch):
    """The number of images decoded so far (``_pixels`` calls)."""
    calls = []
    pixels = image_folder._pixels
    monkeypatch.setattr(image_folder, "_pixels", lambda image, color: calls.append(1) or pixels(image, color))
    return calls


@pytest.mark.parametrize("color", [False, True])
def test_a_large_image_folder_is_decoded_on_demand_with_the_values_of_the_in_memory_reader(
    color, tmp_path, monkeypatch, decodes
):
    write_noise_folder(tmp_path / "pics", color)
    monkeypatch.setenv("AEKIT_MMAP", "1")
    lazy = load_dataset(tmp_path / "pics")
    assert isinstance(lazy.x, ImageFiles) and lazy.is_streamed and not decodes  # headers read, no pixel
    monkeypatch.setenv("AEKIT_MMAP", "0")
    in_memory = load_dataset(tmp_path / "pics")
    assert not in_memory.is_streamed and len(decodes) == 40
    decodes.clear()

    assert lazy.sample_shape == in_memory.sample_shape == (3 if color else 1, 5, 7)
    assert lazy.classes == in_memory.classes == ["a", "b", "c"]
    np.testing.assert_array_equal(lazy.labels, in_memory.labels)
    rows = np.array([33, 2, 17, 2, -1])  # unsorted, a repeat, from the end
    assert np.array_equal(lazy.rows(rows), in_memory.rows(rows))  # bit for bit, not approximately
    assert len(decodes) == 5
    sub = lazy.take(np.array([30, 4, 11, 25])).take(np.array([3, 1]))  # composes, decodes nothing
    assert sub.x is lazy.x and len(decodes) == 5
    np.testing.assert_array_equal(sub.indices, [25, 4])
    assert np.array_equal(sub.array(), in_memory.x[[25, 4]])
    np.testing.assert_array_equal(sub.labels, in_memory.y[[25, 4]])
    assert np.array_equal(lazy.array(), in_memory.x)


def test_an_image_folder_pickles_as_file_names_not_pixels(tmp_path, monkeypatch):
    write_noise_folder(tmp_path / "pics", color=True, size=(32, 32))
    monkeypatch.setenv("AEKIT_MMAP", "1")
    lazy = load_dataset(tmp_path / "pics")
    text = pickle.dumps(lazy.take(np.arange(10, 30)))
    assert len(text) < 6000  # 40 paths, not 40 x 3 x 32 x 32 float32 values (480 kB)
    again = pickle.loads(text)
    assert np.array_equal(again.rows(np.array([3, 0])), lazy.rows(np.array([13, 10])))


@pytest.mark.parametrize("available, streamed", [(4 * 16800 + 4, False), (4 * 16800 - 4, True)])
def test_an_image_folder_stays_on_disk_when_decoded_it_would_fill_a_quarter_of_memory(
    available, streamed, tmp_path, monkeypatch
):
    write_noise_folder(tmp_path / "pics", color=True)  # 40 x 3 x 5 x 7 float32 = 16.8 kB decoded
    monkeypatch.delenv("AEKIT_MMAP")
    monkeypatch.setattr(memory_policy, "available_memory", lambda: available)
    assert load_dataset(tmp_path / "pics").is_streamed == streamed


def test_a_bad_aekit_mmap_value_is_named(tmp_path, monkeypatch):
    write_noise_folder(tmp_path / "pics", color=False, n=3)
    monkeypatch.setenv("AEKIT_MMAP", "yes")
    with pytest.raises(DataError, match=r"AEKIT_MMAP must be 1 .*, 0 .* or unset .*; got 'yes'"):
        load_dataset(tmp_path / "pics")


def test_an_image_broken_after_the_folder_was_read_is_named_when_decoded(tmp_path, monkeypatch):
    write_noise_folder(tmp_path / "pics", color=False, n=6)
    monkeypatch.setenv("AEKIT_MMAP", "1")
    lazy = load_dataset(tmp_path / "pics")
    (tmp_path / "pics" / "b" / "04.png").write_bytes(b"overwritten")
    lazy.rows(np.array([0, 1]))  # the other images still decode
    with pytest.raises(DataError, match=r"Cannot read '.*04\.png' as an image .* remove or replace it"):
        lazy.array()


# --- errors -----------------------------------------------------------------------------------------
def _truncated_npy(tmp_path):
    np.save(tmp_path / "t.npy", table(50, 6))
    data = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(data[: len(data) // 2])
    return tmp_path / "t.npy"


def _bad_zip(tmp_path):
    (tmp_path / "b.npz").write_bytes(b"PK\x03\x04 definitely not a zip archive")
    return tmp_path / "b.npz"


def _idx_bad_magic(tmp_path):
    (tmp_path / "x-images-idx3-ubyte").write_bytes(b"\x12\x34\x08\x03" + bytes(20))
    return tmp_path / "x-images-idx3-ubyte"


def _idx_short(tmp_path):
    write_idx(tmp_path / "x-images-idx3-ubyte.gz", np.zeros((4, 3, 3)))
    data = gzip.decompress((tmp_path / "x-images-idx3-ubyte.gz").read_bytes())
    (tmp_path / "x-images-idx3-ubyte.gz").write_bytes(gzip.compress(data[:-5]))
    return tmp_path / "x-images-idx3-ubyte.gz"


def _idx_labels_mismatch(tmp_path):
    write_idx(tmp_path / "x-images-idx3-ubyte", np.zeros((4, 3, 3)))
    write_idx(tmp_path / "x-labels-idx1-ubyte", np.zeros(3))
    return tmp_path / "x-images-idx3-ubyte"


def _png_not_an_image(tmp_path):
    write_image(tmp_path / "pics" / "a.png")
    (tmp_path / "pics" / "b.png").write_bytes(b"this is text, not a PNG")
    return tmp_path / "pics"


def _ragged_csv(tmp_path):
    (tmp_path / "r.csv").write_text("a,b,c\n1,2,3\n4,5\n")
    return tmp_path / "r.csv"


def _text_cell_csv(tmp_path):
    (tmp_path / "n.csv").write_text("1,2,3\n4,5,6\n7,eight,9\n")
    return tmp_path / "n.csv"


def _mixed_sizes(tmp_path):
    write_image(tmp_path / "pics" / "a.png", size=(6, 5))
    write_image(tmp_path / "pics" / "b.png", size=(8, 8))
    return tmp_path / "pics"


def _nan_csv(tmp_path):
    (tmp_path / "nan.csv").write_text("1,2\n3,nan\n5,6\nnan,inf\n")
    return tmp_path / "nan.csv"


def _inf_npy(tmp_path):
    x = table()
    x[7, 2] = -np.inf
    np.save(tmp_path / "inf.npy", x)
    return tmp_path / "inf.npy"


def _empty_npy(tmp_path):
    np.save(tmp_path / "e.npy", np.zeros((0, 3)))
    return tmp_path / "e.npy"


def _empty_folder(tmp_path):
    (tmp_path / "none").mkdir()
    return tmp_path / "none"


def _header_only_csv(tmp_path):
    (tmp_path / "h.csv").write_text("a,b,c\n")
    return tmp_path / "h.csv"


def _empty_csv(tmp_path):
    (tmp_path / "z.csv").write_text("\n\n")
    return tmp_path / "z.csv"


def _mixed_folder(tmp_path):
    write_image(tmp_path / "pics" / "top.png")
    write_image(tmp_path / "pics" / "cls" / "a.png")
    return tmp_path / "pics"


def _npz_unknown_keys(tmp_path):
    np.savez(tmp_path / "k.npz", a=np.zeros((2, 2)), b=np.zeros(2))
    return tmp_path / "k.npz"


def _npy_1d(tmp_path):
    np.save(tmp_path / "v.npy", np.zeros(5))
    return tmp_path / "v.npy"


def _npy_object(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}, None], dtype=object))
    return tmp_path / "o.npy"


@pytest.mark.parametrize(
    "make, match",
    [
        (_truncated_npy, r"t\.npy' claims to hold an array of shape \(50, 6\) \(float32, 1\.2 KiB\) but holds \d+ bytes "
                         r"of data: its header is wrong or the file is truncated"),
        (_bad_zip, r"Cannot read '.*b\.npz' as a NumPy \.npz archive \(.*\)\. The file may be truncated"),
        (_idx_bad_magic, r"is not an IDX file: wrong magic number 0x12340803"),
        (_idx_short, r"does not match its header: shape 4x3x3 needs 52 bytes, the file holds 47"),
        (_idx_labels_mismatch, r"holds \(3,\) labels but '.*' holds 4 images"),
        (_png_not_an_image, r"Cannot read '.*b\.png' as an image \(cannot identify image file"),
        (_ragged_csv, r"'.*r\.csv' is ragged: line 3 has 2 field\(s\) but line 1 has 3"),
        (_text_cell_csv, r"line 3, column 2 is not a number: 'eight'"),
        (_mixed_sizes, r"differ in size: a\.png is 6x5 but b\.png is 8x8 \(width x height\)"),
        (_nan_csv, r"contains 3 NaN or infinite value\(s\), the first in row 1\."),
        (_inf_npy, r"contains 1 NaN or infinite value\(s\), the first in row 7\."),
        (_empty_npy, r"Data set '.*e\.npy' is empty \(0 rows\)"),
        (_empty_folder, r"Data set '.*none' is empty: no PNG or JPEG images"),
        (_header_only_csv, r"is empty \(0 rows\): it holds only a header line"),
        (_empty_csv, r"Data set '.*z\.csv' is empty \(0 rows\)"),
        (_mixed_folder, r"images both at its top level \(top\.png\) and in class subfolders \(cls/a\.png\)"),
        (_npz_unknown_keys, r"holds arrays \['a', 'b'\] but none is named x, X, data, images"),
        (_npy_1d, r"has shape \(5,\); expected a table \(n, d\) or images"),
        (_npy_object, r"'.*o\.npy' holds an array of Python objects \(dtype object\), which aekit never unpickles"),
    ],
)
def test_broken_inputs(make, match, tmp_path):
    path = make(tmp_path)
    with pytest.raises(DataError, match=match):
        load_dataset(str(path))


@pytest.mark.parametrize("make", [_png_not_an_image, _mixed_sizes, _empty_folder, _mixed_folder])
def test_a_folder_kept_on_disk_fails_as_one_read_into_memory(make, tmp_path, monkeypatch):
    path = make(tmp_path)
    with pytest.raises(DataError) as in_memory:
        load_dataset(path)
    monkeypatch.setenv("AEKIT_MMAP", "1")
    with pytest.raises(DataError) as on_disk:
        load_dataset(path)
    assert str(on_disk.value) == str(in_memory.value)


@pytest.mark.parametrize("mmap", ["0", "1"])
def test_nan_found_in_memory_mapped_file(mmap, tmp_path, monkeypatch):
    monkeypatch.setenv("AEKIT_MMAP", mmap)
    x = np.zeros((30, 3))
    x[25, 1] = np.nan
    np.save(tmp_path / "m.npy", x)
    with pytest.raises(DataError, match=r"contains 1 NaN or infinite value\(s\), the first in row 25"):
        load_dataset(tmp_path / "m.npy")


@pytest.mark.parametrize(
    "spec, match",
    [
        ("missing.csv", r"Data file '.*missing\.csv' does not exist\. Check the path, or name a registered data set: "),
        ("no/such/folder/", r"Data folder '.*folder' does not exist"),
        ("./nothing", r"Data file 'nothing' does not exist"),
    ],
)
def test_missing_paths(spec, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataFileNotFoundError, match=match):
        load_dataset(spec)


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_dataset(tmp_path / "x.npy")


@pytest.mark.parametrize(
    "name, write, label_column",
    [
        ("t.csv", lambda p: p.write_text("1,2,3\n4,5,6\n"), 3),
        ("t.csv", lambda p: p.write_text("1,2,3\n4,5,6\n"), -4),
        ("t.npy", lambda p: np.save(p, np.zeros((2, 3))), 5),
    ],
)
def test_label_column_out_of_range(name, write, label_column, tmp_path):
    write(tmp_path / name)
    match = rf"label_column={label_column} is out of range for '.*{name}', which has 3 column\(s\); use 0\.\.2, or -1"
    with pytest.raises(DataError, match=match):
        load_dataset(tmp_path / name, label_column=label_column)


def _write_images_npy(path):
    np.save(path, np.zeros((3, 4, 4)))


@pytest.mark.parametrize(
    "name, write, column, match",
    [
        ("i.npy", _write_images_npy, 0, r"label_column applies to 2-D tables only"),
        ("one.csv", lambda p: p.write_text("1\n2\n"), 0, r"single column; with label_column=0 no features"),
        ("f.csv", lambda p: p.write_text("1,0.5\n2,1\n"), -1, r"integers or text \(class labels\); row 0 holds 0\.5"),
    ],
)
def test_label_column_misuse(name, write, column, match, tmp_path):
    write(tmp_path / name)
    with pytest.raises(DataError, match=match):
        load_dataset(tmp_path / name, label_column=column)


def test_label_column_must_be_an_int(tmp_path):
    np.save(tmp_path / "t.npy", np.zeros((2, 3)))
    match = r"'label_column' parameter of load_dataset must be an instance of 'int' or None"
    with pytest.raises(ConfigError, match=match):
        load_dataset(tmp_path / "t.npy", label_column="last")
