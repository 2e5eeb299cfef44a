"""A run folder received from someone else is data, never code (issue 23, N1, N2, N9).

A ``gift`` run carries ``evil.py``, which leaves a file behind when imported, and its ``config.yaml``
names it as a plugin. No command that reads the folder may import it unless the user names it on the
command line; YAML aliases ("billion laughs") and bad plugin names are one line of error, at once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hardening import SMALL, assert_one_line_error

from aekit.cli import main
from aekit.errors import ConfigError

EVIL = """\
import pathlib
pathlib.Path(__file__).with_name("PWNED").write_text("imported")
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("trained")
    assert main(["train", *SMALL, "--out", str(out), "--name", "gift", "--no-report"]) == 0
    return out / "gift"


@pytest.fixture
def gift(trained, tmp_path, monkeypatch):
    """A copy of a trained run under ``tmp_path/runs/gift`` with evil.py in it; cwd is ``tmp_path``, so
    ``runs.gift.evil`` is importable from there if anything put the working directory on the path."""
    run = tmp_path / "runs" / "gift"
    shutil.copytree(trained, run)
    (run / "evil.py").write_text(EVIL)
    monkeypatch.chdir(tmp_path)
    yield run
    sys.modules.pop("evil", None)
    sys.modules.pop("runs.gift.evil", None)


def name_plugins(run: Path, plugins: list) -> None:
    path = run / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["plugins"] = plugins
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def aekit(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


READERS = {
    "report": lambda run: ["report", str(run)],
    "report-compare": lambda run: ["report", str(run), str(run), "--out", "compare.html"],
    "encode": lambda run: ["encode", str(run), "--out", "codes.npy"],
    "reconstruct": lambda run: ["reconstruct", str(run), "--out", "recon.npy"],
    "finetune": lambda run: ["finetune", str(run), "--labels", "30", "--quiet"],
    "labelcurve": lambda run: ["labelcurve", str(run), "--budgets", "30", "--draws", "1"],
    "explore": lambda run: ["explore", str(run), "--map", "pca"],  # added since: read through the same readers
    "export": lambda run: ["export", str(run), "--format", "pt2", "--out", "deploy"],
    "resume": lambda run: ["train", "--resume", str(run), "--epochs", "2", "--quiet"],
}


@pytest.mark.parametrize("command", sorted(READERS))
def test_no_command_imports_a_plugin_that_a_received_run_names(gift, capsys, command):
    name_plugins(gift, ["runs.gift.evil"])
    code, _, err = aekit(capsys, *READERS[command](gift))
    assert_one_line_error(code, err, r"names the plugin module 'runs\.gift\.evil', and aekit never imports a module "
                                     r"that a file names .*--plugin runs\.gift\.evil")
    assert not (gift / "PWNED").exists()
    assert "runs.gift.evil" not in sys.modules


def test_load_run_refuses_and_aekit_load_reads_weights_only(gift):
    import aekit as package
    from aekit.training.run_folder import load_run

    name_plugins(gift, ["runs.gift.evil"])
    with pytest.raises(ConfigError, match=r"import runs\.gift\.evil before calling aekit from Python"):
        load_run(gift)
    model = package.load_model(gift)  # model.json and the weights only: no config is read
    assert tuple(model.encode(torch.zeros(2, *model.sample_shape)).shape)[0] == 2
    assert not (gift / "PWNED").exists()


def test_the_working_directory_is_not_an_import_path_for_a_run_read_from_inside_it(gift):
    """``python -m`` puts the working directory on sys.path itself; aekit still imports nothing."""
    name_plugins(gift, ["evil"])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for command in ([sys.executable, "-m", "aekit"], [str(Path(sys.executable).with_name("aekit"))]):
        if not Path(command[0]).exists():
            continue
        done = subprocess.run([*command, "report", "."], cwd=gift, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 2, done.stderr
        assert "--plugin evil" in done.stderr and "Traceback" not in done.stderr
        assert not (gift / "PWNED").exists()


def test_a_received_run_read_from_inside_it_cannot_stand_in_for_a_library(gift):
    """N1, ``cd runs/gift && python -m aekit report .``: the folder's own ``numpy.py``, ``yaml.py`` or
    ``torch.py`` would be imported in place of the library, since ``python -m`` puts the working directory
    first on the import path; ``aekit.__main__`` takes it off before the command imports anything."""
    for library in ("numpy", "yaml", "torch", "safetensors"):
        (gift / f"{library}.py").write_text(EVIL)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "aekit", "report", "."], cwd=gift, env=env, capture_output=True,
                          text=True, timeout=120)
    assert not (gift / "PWNED").exists(), done.stderr
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr


def test_a_plugin_named_on_the_command_line_is_the_opt_in(gift, capsys):
    name_plugins(gift, ["evil"])
    code, out, err = aekit(capsys, "encode", str(gift), "--out", "codes.npy", "--plugin", str(gift / "evil.py"))
    assert code == 0, err
    assert (gift / "PWNED").read_text() == "imported"  # the user said so
    assert Path("codes.npy").is_file()


@pytest.mark.parametrize("bad", ["../x", ".x", "", "a..b", "x/y", 3])
def test_a_bad_plugin_name_in_a_config_is_one_line(gift, capsys, bad):
    name_plugins(gift, [bad])
    code, _, err = aekit(capsys, "report", str(gift))
    assert_one_line_error(code, err, r"'plugins'.* must be a dotted module name")
    assert not (gift / "PWNED").exists()


@pytest.mark.parametrize("bad", ["../x", ".x", "", "a b"])
def test_a_bad_plugin_name_on_the_command_line_is_one_line(gift, capsys, bad):
    code, _, err = aekit(capsys, "report", str(gift), "--plugin", bad)
    assert_one_line_error(code, err, r"The plugin .* \(--plugin\) must be a dotted module name")


def billion_laughs(levels: int) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{', '.join([f'*{prev}'] * 9)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text, pattern", [
    (billion_laughs(9), r"is refused: it uses a YAML alias \(\*a\) at line 2"),
    ("model: " + "[" * 200 + "]" * 200 + "\n", r"is refused: it uses nesting deeper than 32 levels"),
    ("seed: 0\n" + "#" * (2 << 20) + "\n", r"holds 2,097,161 bytes; a config is at most 1,048,576"),
    ("seed: 1" + "0" * 5000 + "\n", r"is refused: it uses an integer of 5,001 digits at line 1"),  # int() refuses
])
def test_a_yaml_alias_bomb_is_refused_at_once(gift, capsys, text, pattern):
    (gift / "config.yaml").write_text(text)
    start = time.perf_counter()
    code, _, err = aekit(capsys, "report", str(gift))
    assert time.perf_counter() - start < 5
    assert_one_line_error(code, err, pattern)
    assert len(err) < 500


def test_a_yaml_alias_in_a_set_value_is_refused(tmp_path, capsys):
    code, _, err = aekit(capsys, "train", *SMALL, "--out", str(tmp_path), "--set", "model.hidden=[&h 8, *h]")
    assert_one_line_error(code, err, r"The value of override 'model\.hidden=\[&h 8, \*h\]' is refused: it uses a "
                                     r"YAML alias")
    assert not any(tmp_path.iterdir())


def test_an_integer_of_thousands_of_digits_in_a_set_value_is_one_line(tmp_path, capsys):
    code, _, err = aekit(capsys, "train", *SMALL, "--out", str(tmp_path), "--set", "seed=1" + "0" * 5000)
    assert_one_line_error(code, err, r"The value of override 'seed=10+'… is refused: it uses an integer of 5,001 "
                                     r"digits at line 1")
    assert not any(tmp_path.iterdir())


def test_aekit_writes_configs_without_aliases(tmp_path):
    """A value used twice is written twice, so every config.yaml aekit writes reads back."""
    from aekit.config import read_yaml
    from aekit.io import write_yaml

    shared = [8, 4]
    write_yaml({"model": {"hidden": shared}, "layerwise": {"hidden": shared}}, tmp_path / "c.yaml")
    assert "&" not in (tmp_path / "c.yaml").read_text()
    assert read_yaml(tmp_path / "c.yaml") == {"model": {"hidden": [8, 4]}, "layerwise": {"hidden": [8, 4]}}


def test_a_link_out_of_a_received_run_is_never_read(gift, tmp_path, capsys):
    """DESIGN: reading a folder never follows a symlink out of it (a model.json -> a file of yours)."""
    import aekit as package

    outside = tmp_path / "elsewhere.json"
    outside.write_text((gift / "model.json").read_text())
    (gift / "model.json").unlink()
    (gift / "model.json").symlink_to(outside)
    code, _, err = aekit(capsys, "encode", str(gift), "--out", "codes.npy")
    assert_one_line_error(code, err, r"model\.json' is a symbolic link to .*elsewhere\.json', outside .*gift'; aekit "
                                     r"never reads or writes through a link out of a folder")
    with pytest.raises(ConfigError, match="is a symbolic link to"):
        package.load_model(gift)
    (gift / "model.json").unlink()
    (gift / "model.json").symlink_to("config.yaml")  # a link inside the folder is no escape: read as usual
    code, _, err = aekit(capsys, "encode", str(gift), "--out", "codes.npy")
    assert code == 2 and "symbolic link" not in err


@pytest.mark.parametrize("text", ["? null\n: 1\n", "1: 2\nseed: 0\n", "model: {true: 3}\n"])
def test_a_config_key_that_is_not_text_is_one_line(tmp_path, capsys, text):
    (tmp_path / "odd.yaml").write_text(text)
    code, _, err = aekit(capsys, "train", str(tmp_path / "odd.yaml"), "--out", str(tmp_path / "runs"))
    assert_one_line_error(code, err, r"Unknown config key '(model\.)?(None|1|True)'")


ANCHORED = st.recursive(
    st.sampled_from(["1", "0.5", "x", "[]", "{}", "null", "*a", "&a 1", "&a [1, 2]", "!!python/object:os.system x"]),
    lambda inner: st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"), max_leaves=6)


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["seed", "model", "penalties", "corruption", "train", "plugins", "name"]),
       value=ANCHORED, plugins=st.lists(st.sampled_from(["evil", "runs.gift.evil", "os", "", "../x", "antigravity"]),
                                        max_size=2))
def test_fuzz_config_yaml_with_aliases_tags_and_plugins(gift, key, value, plugins):
    """Any config.yaml with anchors, aliases, tags and plugin names: read or one line, nothing imported."""
    from aekit.training.run_folder import load_run

    (gift / "config.yaml").write_text(yaml.safe_dump({"plugins": plugins}) + f"{key}: {value}\n"
                                      if key != "plugins" else f"plugins: {value}\n")
    start = time.perf_counter()
    try:
        load_run(gift)
    except ConfigError as error:
        assert "\n" not in str(error) and len(str(error)) < 2000
    assert time.perf_counter() - start < 10
    assert not (gift / "PWNED").exists() and "antigravity" not in sys.modules
