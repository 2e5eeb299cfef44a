"""The top-level API is visible: ``dir(aekit)``, tab completion and ``help(aekit)`` list the names that
``aekit`` imports on first use, and ``import aekit`` (and ``dir``) still imports no torch."""

import subprocess
import sys

import aekit

PUBLIC = {"Autoencoder", "AutoencoderClassifier", "AutoencoderOutlierDetector", "LadderClassifier", "load_model",
          "load_run", "train", "make_config", "Trainer", "ModelConfig", "load_dataset", "__version__"}


def test_dir_lists_the_public_names_and_only_them():
    names = dir(aekit)
    assert PUBLIC <= set(names)
    assert names == sorted(aekit.__all__)
    assert not {"Any", "annotations", "import_module"} & set(names)  # the module's own imports are not API
    for name in names:
        assert getattr(aekit, name) is not None  # each one resolves


def test_tab_completion_finds_the_estimators():
    import rlcompleter

    found = rlcompleter.Completer({"aekit": aekit}).attr_matches("aekit.Autoenc")  # what the Tab key offers
    assert {"aekit.Autoencoder(", "aekit.AutoencoderClassifier(", "aekit.AutoencoderOutlierDetector("} <= set(found)


def test_help_shows_the_estimators():
    import pydoc

    text = pydoc.render_doc(aekit, renderer=pydoc.plaintext)
    assert "class Autoencoder(" in text and "class LadderClassifier(" in text and "load_run(" in text


def test_import_and_dir_import_no_torch():
    code = ("import sys\nimport aekit\nnames = dir(aekit)\nassert 'Autoencoder' in names, names\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "NO-TORCH"
