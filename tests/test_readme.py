"""The README's Python examples run as written, in order, in one namespace."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_starts_with_the_two_setup_commands():
    first_block = re.search(r"```bash\n(.*?)```", README.read_text(), flags=re.DOTALL).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["bash scripts/setup.sh && .venv/bin/aekit train",
                        "bash scripts/setup.sh --test && .venv/bin/python -m pytest"]
    ci = (README.parent / ".ci" / "run").read_text()
    assert commands[1] in ci


def test_readme_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks()
    assert len(blocks) >= 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block.replace("/tmp/aekit-runs", str(tmp_path / "runs")), str(README), "exec"), namespace)


def test_readme_yaml_configs_are_valid(tmp_path):
    from aekit.training.run_config import make_config

    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks
    for i, block in enumerate(blocks):
        path = tmp_path / f"config{i}.yaml"
        path.write_text(block)
        config = make_config(path)
        assert config.penalties or config.corruption or config.model != make_config().model
