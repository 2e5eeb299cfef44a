"""``aekit export`` and ``aekit explore`` on the command line: a run trained behind a rescaling exports
graphs whose codes and reconstructions equal ``aekit encode`` / ``aekit reconstruct`` on the raw rows within
1e-4; a bad format, a bad map or a missing extra is one line on stderr with exit 2, and nothing written."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest
import torch

from aekit.cli import main

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    """A small run on an unlabelled table whose columns span 1 to 1000, trained with data.rescale: minmax."""
    out = tmp_path_factory.mktemp("runs")
    rng = np.random.default_rng(0)
    x = (rng.random((160, 3)) @ rng.random((3, 7))) * np.array([1, 3, 10, 30, 100, 300, 1000])
    x[:, 2] = 5.0  # a constant column: scale 0
    np.save(out / "table.npy", x.astype(np.float32))
    assert main(["train", "--quiet", "--no-report", "--data", str(out / "table.npy"), "--out", str(out), "--name",
                 "table", "--set", "data.rescale=minmax", "--set", "train.epochs=2", "--set", "model.hidden=[8]",
                 "--set", "model.code_size=3"]) == 0
    return out / "table", out / "table.npy"


@pytest.fixture(scope="module")
def exported(table_run, tmp_path_factory):
    """``exported(format)``: the folder ``aekit export RUN --format FORMAT --out DIR`` wrote (once per format)."""
    folders = {}

    def export(format):
        if format not in folders:
            folders[format] = tmp_path_factory.mktemp("deploy") / format
            assert main(["export", str(table_run[0]), "--format", format, "--out", str(folders[format])]) == 0
        return folders[format]
    return export


def _graph(format, path, name, x, ort):
    if format == "onnx":
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {name: x})[0]
    return torch.export.load(str(path)).module()(torch.from_numpy(x)).detach().numpy()


@pytest.mark.parametrize("format", ["onnx", "pt2"])
def test_exported_graphs_give_what_encode_and_reconstruct_give(table_run, exported, format, tmp_path, capsys, ort):
    run, data = table_run
    deploy = exported(format)
    assert sorted(p.name for p in deploy.iterdir()) == sorted([f"encoder.{format}", f"decoder.{format}", "export.json"])
    for command in ("encode", "reconstruct"):  # every row (without --split: the test rows)
        assert main([command, str(run), "--split", "all", "--out", str(tmp_path / f"{command}.npy")]) == 0
    raw = np.load(data)
    h = _graph(format, deploy / f"encoder.{format}", "x", raw, ort)
    assert np.abs(h - np.load(tmp_path / "encode.npy")).max() < TOLERANCE
    x_hat = _graph(format, deploy / f"decoder.{format}", "h", h, ort)  # in the rescaled space
    description = json.loads((deploy / "export.json").read_text())
    assert description["preprocessing"]["kind"] == "minmax" and description["encoder"]["input"]["shape"] == ["batch", 7]
    pre = description["preprocessing"]  # the recorded inverse maps it to the table's units, as reconstruct does
    scale, low = np.asarray(pre["scale"]), np.asarray(pre["low"])
    back = np.where(scale > 0, x_hat / np.where(scale > 0, scale, 1) + low, low)
    reconstructed = np.load(tmp_path / "reconstruct.npy")
    assert np.abs(back - reconstructed).max() < TOLERANCE * max(1.0, float(np.abs(reconstructed).max()))
    assert np.abs(back[:, 2] - 5.0).max() < 1e-6 and abs(np.median(back[:, 6]) - np.median(raw[:, 6])) < 500


def test_an_unknown_format_is_one_line_listing_the_valid_ones(table_run, tmp_path, capsys):
    assert main(["export", str(table_run[0]), "--format", "tflite", "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("aekit export: error: The 'format' parameter of export must be a str among {'onnx', 'pt2'}. "
                   "Got 'tflite' instead.")
    assert not (tmp_path / "d").exists()


def test_a_missing_export_extra_is_one_line_naming_the_install_command(table_run, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    assert main(["export", str(table_run[0]), "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.endswith("pip install 'aekit[export]'") and "onnx" in err
    assert not (tmp_path / "d").exists()


def test_an_unknown_map_is_one_line_listing_the_valid_ones(table_run, tmp_path, capsys):
    assert main(["explore", str(table_run[0]), "--map", "umap", "--out", str(tmp_path / "e.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("aekit explore: error: The 'map' parameter of explore must be a str among {'tsne', 'pca'}. "
                   "Got 'umap' instead.")
    assert not (tmp_path / "e.html").exists()


def test_explore_writes_an_uncoloured_map_for_a_run_without_labels(table_run, tmp_path, capsys):
    assert main(["explore", str(table_run[0]), "--map", "pca", "--out", str(tmp_path / "e.html")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == str(tmp_path / "e.html") and "mapped by PCA" in out[0]
    text = (tmp_path / "e.html").read_text()
    payload = json.loads(text.split('id="explorer-data">')[1].split("</script>")[0])
    assert payload["labels"] is None and payload["classes"] is None and payload["display"] == "bars"
    assert "this run's data has no labels" in text


def test_export_says_what_it_wrote(table_run, tmp_path, capsys):
    assert main(["export", str(table_run[0]), "--format", "pt2", "--out", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["wrote encoder.pt2, decoder.pt2 and export.json (pt2)", str(tmp_path / "d")]


def test_the_deploy_page_serves_the_encoder_without_aekit(table_run, exported, tmp_path, monkeypatch, ort):
    """docs/deploy.md's service, run as written (on a free port, in a thread): its codes are aekit encode's."""
    import re
    import threading
    import urllib.request
    from http.server import HTTPServer
    from pathlib import Path

    run, data = table_run
    shutil.copytree(exported("onnx"), tmp_path / "deploy")
    monkeypatch.chdir(tmp_path)  # the page's path: deploy/encoder.onnx
    doc = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    (block,) = re.findall(r"```python\n(.*?)```", doc, flags=re.DOTALL)
    *service, start = block.strip().splitlines()
    assert start == 'HTTPServer(("127.0.0.1", 8000), Encode).serve_forever()' and "aekit" not in block
    namespace: dict = {}
    exec("\n".join(service), namespace)
    server = HTTPServer(("127.0.0.1", 0), namespace["Encode"])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rows = np.load(data)[:5]
        request = urllib.request.Request(f"http://127.0.0.1:{server.server_port}",
                                         data=json.dumps({"x": rows.tolist()}).encode())
        with urllib.request.urlopen(request, timeout=30) as response:
            h = np.asarray(json.loads(response.read())["h"])
    finally:
        server.shutdown()
    assert main(["encode", str(run), "--split", "all", "--out", str(tmp_path / "codes.npy")]) == 0
    assert np.abs(h - np.load(tmp_path / "codes.npy")[:5]).max() < TOLERANCE


# -- issue 23 for the outputs added since: a bad --out is one line, and no write goes through a link ---------
@pytest.mark.parametrize("argv, pattern", [
    (["export", "{run}", "--format", "pt2", "--out", ""], r"The 'out' of export \(--out\) is empty"),
    (["export", "{run}", "--format", "pt2", "--out", "afile/d"], r"Cannot write 'afile/d/encoder\.pt2': Not a "
                                                                  r"directory; a part of that path is a file"),
    (["export", "{run}", "--format", "pt2", "--out", "d" * 300], r"File name too long"),
    (["explore", "{run}", "--map", "pca", "--out", ""], r"--out '' is a folder; give the file to write"),
    (["explore", "{run}", "--map", "pca", "--out", "afile/e.html"], r"Cannot write 'afile/e\.html': Not a directory"),
    (["explore", "{run}", "--map", "pca", "--out", "e" * 300 + ".html"], r"File name too long"),
])
def test_a_bad_out_is_one_line_and_writes_nothing(argv, pattern, table_run, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("mine\n")
    code = main([a.replace("{run}", str(table_run[0])) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and err.startswith(f"aekit {argv[0]}: error: "), err
    assert __import__("re").search(pattern, err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"] and (tmp_path / "afile").read_text() == "mine\n"


def test_explore_and_export_never_write_through_a_link_out_of_their_folder(table_run, tmp_path, capsys):
    victim = tmp_path / "victim"
    victim.mkdir()
    run = tmp_path / "run"
    shutil.copytree(table_run[0], run)
    (run / "explore.html").symlink_to(victim / "explore.html")  # a received run's link out: the run is not read
    assert main(["explore", str(run), "--map", "pca"]) == 2
    assert "explore.html' is a symbolic link to" in capsys.readouterr().err
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    (deploy / "encoder.pt2").symlink_to(victim / "encoder.pt2")  # a link in the output folder is replaced
    (run / "explore.html").unlink()
    assert main(["export", str(run), "--format", "pt2", "--out", str(deploy)]) == 0
    assert not (deploy / "encoder.pt2").is_symlink() and list(victim.iterdir()) == []
