"""Every code block of the README and of the documentation (``docs/``) runs as written.

A page's blocks run in order, in a temporary folder of their own:

- ``python``: each block alone, in a fresh namespace (a block that needs another's names fails);
- ``bash``: each line is an ``aekit`` command, run in this process (``aekit.cli.main``), and must succeed;
  any other command fails the test, so a block of something else says so by being marked;
- ``text`` that starts with ``$ aekit ...``: the command runs, and the lines below it appear in what it says;
- ``yaml``: a valid run config (one whose first line is ``# name.yaml`` is also written as that file);
- ``py``: a file listing (first line ``# name.py``), written as that file for the commands that name it.

A block right after ``<!-- fragment: why -->`` is not run: installing packages, launching torchrun, hours
of measurement. The generated pages (``docs/tour/``, ``docs/tour-mnist/``) hold no code.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
GENERATED = ("tour", "tour-mnist")  # folders of docs/ that commands write
PAGES = [README] + sorted(p for p in (ROOT / "docs").rglob("*.md") if p.relative_to(ROOT / "docs").parts[0]
                          not in GENERATED)
# pages whose blocks train models to convergence or build reports: seconds each, tens in all
SLOW = {"README.md", "docs/cli.md", "docs/configs.md", "docs/labels.md", "docs/plugins.md", "docs/report.md",
        "docs/sklearn.md"}
BLOCK = re.compile(r"^(<!-- fragment: (?P<why>[^\n]*?) -->\n)?```(?P<lang>[^\n]*)\n(?P<code>.*?)^```$",
                   flags=re.DOTALL | re.MULTILINE)
KINDS = {"python", "py", "bash", "yaml", "text"}


def blocks(page: Path) -> list[tuple[str, str, str | None, int]]:
    """(language, code, why it is a fragment or None, line) of every fenced block of ``page``."""
    text = page.read_text(encoding="utf-8")
    return [(m["lang"].strip(), m["code"], m["why"], text.count("\n", 0, m.start("lang")) + 1)
            for m in BLOCK.finditer(text)]


def name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def test_the_readme_starts_with_the_two_setup_commands_and_ci_runs_the_second():
    first_block = re.search(r"```bash\n(.*?)```", README.read_text(), flags=re.DOTALL).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["bash scripts/setup.sh && .venv/bin/aekit train",
                        "bash scripts/setup.sh --test && .venv/bin/python -m pytest"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci and "mkdocs build --strict" in ci and "ruff check" in ci


def test_the_readme_is_a_front_door():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    # what it links to exists in a clone (no ../shared/, no page that moved)
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target


def test_every_page_is_in_the_site_navigation():
    import yaml

    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]

    def files(entries):
        for entry in entries:
            for value in entry.values() if isinstance(entry, dict) else [entry]:
                yield from files(value) if isinstance(value, list) else [value]

    listed = set(files(nav))
    assert {name(p).removeprefix("docs/") for p in PAGES[1:]} <= listed


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_every_block_is_marked_with_what_it_is(page):
    for lang, code, why, line in blocks(page):
        assert lang in KINDS, f"{name(page)}:{line}: a ``` block needs one of {sorted(KINDS)}, not {lang!r}"
        if lang == "py":
            assert re.match(r"# \w+\.py\b", code), f"{name(page)}:{line}: a py listing starts with '# name.py'"
        if why is not None:
            assert len(why.strip()) > 10, f"{name(page)}:{line}: say why the fragment is not run"


@pytest.mark.parametrize("page", [pytest.param(p, marks=pytest.mark.slow) if name(p) in SLOW else p
                                  for p in PAGES], ids=name)
def test_every_code_block_runs_as_written(page, tmp_path, monkeypatch, capsys):
    from aekit import registry

    monkeypatch.chdir(tmp_path)
    registered = {kind: set(entries) for kind, entries in registry._REGISTRY.items()}
    modules, path = set(sys.modules), list(sys.path)
    try:
        for lang, code, why, line in blocks(page):
            if why is None:
                run(lang, code, f"{name(page)}:{line}", tmp_path, capsys)
    finally:  # what the page's plugin files registered and imported goes, as the other tests expect
        plugins = {module for module in set(sys.modules) - modules
                   if str(getattr(sys.modules[module], "__file__", "")).startswith(str(tmp_path))}
        for kind, entries in list(registry._REGISTRY.items()):
            for entry, value in list(entries.items()):
                if entry not in registered.get(kind, set()) and getattr(value, "__module__", None) in plugins:
                    registry.unregister(kind, entry)
        for module in plugins:
            del sys.modules[module]
        sys.path[:] = path


def run(lang: str, code: str, where: str, folder: Path, capsys) -> None:
    from aekit.cli import main

    if lang == "python":
        exec(compile(code, where, "exec"), {"__name__": "__main__"})
    elif lang == "py":
        (folder / re.match(r"# (\w+\.py)", code).group(1)).write_text(code)
        compile(code, where, "exec")
    elif lang == "yaml":
        from aekit.training.run_config import make_config

        file = re.match(r"# (\S+\.yaml)", code)
        path = folder / (file.group(1) if file else "block.yaml")
        path.write_text(code)
        make_config(path)
    elif lang == "text" and code.startswith("$ aekit "):
        command, *expected = code.rstrip("\n").split("\n")
        capsys.readouterr()
        main(shlex.split(command[2:])[1:])
        said = "".join(capsys.readouterr())
        for line in expected:
            assert line in said, f"{where}: {command!r} did not say {line!r}; it said:\n{said}"
    elif lang == "bash":
        for command in code.replace("\\\n", " ").splitlines():
            words = shlex.split(command, comments=True)
            if not words:
                continue
            assert words[0] == "aekit", (f"{where}: {command!r} is not an aekit command; mark the block "
                                         f"<!-- fragment: why --> if it is not meant to run here")
            assert main(words[1:]) == 0, f"{where}: {command!r} failed"
