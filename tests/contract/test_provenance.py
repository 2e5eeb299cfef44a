"""Every default has a stated source: docs/provenance.md names each field of the config dataclasses, each
estimator parameter and each registered objective and corruption, and says whether a test split was
involved; no comment in the package points at experiments/, which is not shipped with it."""

from __future__ import annotations

import dataclasses
import inspect
import io
import re
import tokenize
from pathlib import Path

import pytest

from aekit.data.preparation import DataConfig
from aekit.estimator import Autoencoder, AutoencoderClassifier
from aekit.estimator.outlier import AutoencoderOutlierDetector
from aekit.models.encoders.conv import ConvConfig
from aekit.models.encoders.mlp import MLPConfig
from aekit.registry import available
from aekit.training.finetune import FinetuneConfig
from aekit.training.layerwise import LayerwiseConfig
from aekit.training.trainer import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
PROVENANCE = ROOT / "docs" / "provenance.md"
PACKAGE = ROOT / "src" / "aekit"


def _named() -> set[str]:
    return set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", PROVENANCE.read_text(encoding="utf-8")))


def _settings() -> list[tuple[str, str]]:
    found = [(cls.__name__, f.name) for cls in (TrainConfig, MLPConfig, ConvConfig, FinetuneConfig, LayerwiseConfig,
                                                DataConfig) for f in dataclasses.fields(cls)]
    found += [(cls.__name__, name) for cls in (Autoencoder, AutoencoderClassifier, AutoencoderOutlierDetector)
              for name in inspect.signature(cls).parameters]
    found += [(kind, name) for kind in ("objective", "corruption") for name in available(kind)]
    return found


@pytest.mark.parametrize("owner, name", _settings())
def test_every_default_is_in_the_provenance_table(owner, name):
    assert name in _named(), f"docs/provenance.md does not say where {owner}'s {name!r} came from"


def test_no_row_of_the_table_leaves_the_test_split_question_open():
    rows = [line for line in PROVENANCE.read_text(encoding="utf-8").splitlines()
            if line.startswith("| ") and not line.startswith("| **") and not line.startswith("| setting")]
    assert rows and all(line.count("|") >= 5 and line.rstrip().rstrip("|").split("|")[-1].strip() for line in rows)


def _comments(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".yaml":
        return [line for line in text.splitlines() if line.lstrip().startswith("#")]
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return [token.string for token in tokens if token.type == tokenize.COMMENT]


def test_no_comment_in_the_package_cites_the_experiments_folder():
    cited = {str(path.relative_to(PACKAGE)): found for path in sorted([*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.yaml")])
             if (found := [comment for comment in _comments(path) if "experiments/" in comment])}
    assert not cited, f"comments cite experiments/ (not shipped); cite docs/provenance.md or the paper: {cited}"
