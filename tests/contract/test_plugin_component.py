"""A regulariser and its figure are two new files and nothing else.

The two files (the listings of docs/plugins.md, "Plugins: add a regulariser and its figure") are written into a temporary
folder, as a researcher would write them next to their config, and used from every entry point
without any other edit: a YAML config (``plugins:``, once the user has imported them), the command
line in a fresh process (``--plugin`` for train, then report), the scikit-learn estimator
(``penalties=``) and the report, which draws the new figure because the new objective declares the
capability it reads.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from aekit import registry
from aekit.errors import ConfigError

PAGE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
PENALTY = "code_energy"
FIGURE = "code_energy_figure"


def _readme_file(name: str) -> str:
    """The plugins page's listing of ``name``.py (its ```py block starting with ``# name.py``): the test
    runs exactly what the page shows."""
    blocks = re.findall(r"```py\n(# (\w+)\.py.*?)```", PAGE.read_text(), flags=re.DOTALL)
    return next(text for text, stem in blocks if stem == name)


@pytest.fixture
def plugin_folder(tmp_path, monkeypatch):
    folder = tmp_path / "work"
    folder.mkdir()
    for module in (PENALTY, FIGURE):
        (folder / f"{module}.py").write_text(_readme_file(module))
    monkeypatch.chdir(folder)  # the modules sit next to the config, as a researcher's would
    yield folder
    registry.unregister("objective", "code_energy")  # leave the registry as the other tests expect it
    registry.unregister("figure", "code_energy")
    for module in (PENALTY, FIGURE):
        sys.modules.pop(module, None)
    if str(folder) in sys.path:
        sys.path.remove(str(folder))


def _config(folder: Path) -> Path:
    path = folder / "energy.yaml"
    path.write_text(yaml.safe_dump({
        "plugins": [PENALTY, FIGURE],
        "data": {"name": "digits", "limit": 240},
        "model": {"hidden": [32], "code_size": 6},
        "train": {"epochs": 2, "batch_size": 64},
        "penalties": {"code_energy": 0.05},
    }))
    return path


def test_a_new_regulariser_and_its_figure_work_from_yaml_the_cli_the_estimator_and_the_report(plugin_folder):
    from aekit.training.run import train
    from aekit.training.run_config import make_config

    assert "code_energy" not in registry.available("objective")  # nothing of it is in aekit
    with pytest.raises(ConfigError, match=r"names the plugin module 'code_energy', and aekit never imports a module "
                                          r"that a file names .* --plugin code_energy"):
        make_config(_config(plugin_folder), ["out=runs", "name=python"])  # YAML names them: not imported
    assert registry.load_plugins([f"{PENALTY}.py", f"{FIGURE}.py"]) == [PENALTY, FIGURE]  # the user's word
    config = make_config(_config(plugin_folder), ["out=runs", "name=python"])
    result = train(config)
    assert "code_energy" in result.history[-1]["train"]
    assert yaml.safe_load((result.run_dir / "config.yaml").read_text())["plugins"] == [PENALTY, FIGURE]

    # the command line, in fresh processes: train, then the report imports the plugins from config.yaml
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    command = [sys.executable, "-m", "aekit"]
    plugins = ["--plugin", f"{PENALTY}.py", "--plugin", f"{FIGURE}.py"]
    subprocess.run([*command, "train", "energy.yaml", *plugins, "--out", "runs", "--name", "cli", "--quiet",
                    "--no-report"], check=True, env=env, capture_output=True, text=True, cwd=plugin_folder)
    metrics = (plugin_folder / "runs" / "cli" / "metrics.jsonl").read_text()
    assert '"train/code_energy"' in metrics
    refused = subprocess.run([*command, "report", "runs/cli"], env=env, capture_output=True, text=True,
                             cwd=plugin_folder)  # python -m puts the folder on sys.path: still nothing imported
    assert refused.returncode == 2 and "--plugin code_energy" in refused.stderr, refused.stderr
    assert not (plugin_folder / "runs" / "cli" / "report.html").exists()
    report = subprocess.run([*command, "report", "runs/cli", *plugins], env=env, capture_output=True, text=True,
                            cwd=plugin_folder)
    assert report.returncode == 0, report.stderr
    html = (plugin_folder / "runs" / "cli" / "report.html").read_text()
    assert "Energy of the code" in html and "Histogram of |h|² over the test codes" in html
    assert (plugin_folder / "runs" / "cli" / "figures" / "code_energy.png").is_file()

    # the scikit-learn estimator: the same name, checked by the objective's own declared field
    from sklearn.datasets import load_digits

    from aekit import Autoencoder

    x = load_digits().data[:120] / 16
    est = Autoencoder(code_size=4, hidden=(16,), epochs=2, penalties={"code_energy": 0.05}, random_state=0).fit(x)
    assert "code_energy" in est.history_[-1]["train"]
    with pytest.raises(ConfigError, match=r"The 'penalties.code_energy.weight' parameter must be a float in the "
                                          r"range \[0, inf\). Got -1.0 instead. \(parameter 'penalties' of Autoencoder\)"):
        Autoencoder(code_size=4, hidden=(16,), epochs=2, penalties={"code_energy": -1.0}).fit(x)


def test_a_plugin_that_cannot_be_imported_is_named_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"The plugin module 'no_such_plugin_module' \(--plugin\) cannot be "
                                          r"imported: ModuleNotFoundError"):
        registry.load_plugins(["no_such_plugin_module"])
    with pytest.raises(ConfigError, match=r"The plugin file 'missing.py' \(--plugin\) does not exist"):
        registry.load_plugins(["missing.py"])
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ConfigError, match=r"The plugin file 'broken.py' \(--plugin\) failed while being imported: "
                                          r"RuntimeError: boom"):
        registry.load_plugins(["broken.py"])
    assert "broken" not in sys.modules
    np.testing.assert_equal(registry.available("objective").count("code_energy"), 0)
