"""The command line's arguments: every command, its options and their help (imports nothing heavy:
``aekit --help`` answers without torch)."""

from __future__ import annotations

import argparse

EXAMPLES = """\
examples:
  aekit train                                   default MLP autoencoder on bundled MNIST-5k
  aekit train my.yaml --set model.code_size=10 --set train.epochs=5
  aekit train --data digits --set model.kind=conv
  aekit train --preset deep                     the lecture's deep autoencoder (a shipped recipe)
  aekit train --resume runs/mnist5k-mlp-32-20261127-101500
  aekit report RUN                              rebuild RUN/report.html (figures of every step)
  aekit report RUN_A RUN_B --out compare.html   compare runs side by side
  aekit encode RUN --data mnist5k --out codes.npy
  aekit explore RUN                             RUN/explore.html: move through the code space, decoded in the page
  aekit export RUN --format onnx --out deploy   encoder.onnx + decoder.onnx + export.json, for use without aekit
  aekit ladder --labels 100                     a ladder network on 100 labels of MNIST-5k (the rest unlabelled)
  aekit datasets
"""


def _plugin_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                        help="import your module that registers components (a dotted name on sys.path, or a .py "
                             "file), repeatable. A run's config.yaml records its plugins but aekit never imports "
                             "what a file names: name them here")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aekit",
        description="Autoencoders as the lecture teaches them: train, inspect and use them.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = sub.add_parser("train", help="train an autoencoder into a run folder",
                           description="Train an autoencoder; every config key can be set with --set key=value.")
    train.add_argument("config", nargs="?", help="YAML config file (default: built-in defaults)")
    train.add_argument("--preset", help="start from a named config shipped with aekit, e.g. 'deep' (the lecture's "
                                        "deep autoencoder); --help-config lists them")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config key, e.g. --set model.code_size=10 (repeatable)")
    train.add_argument("--data", help="shorthand for --set data.name=DATA (a name from 'aekit datasets' or a path)")
    train.add_argument("--out", help="folder for run folders (default: runs)")
    train.add_argument("--name", help="run folder name (default: data-kind-code-time)")
    train.add_argument("--resume", metavar="RUN", help="continue the run in folder RUN from its checkpoint")
    train.add_argument("--epochs", type=int, help="with --resume: new total number of epochs")
    train.add_argument("--dry-run", action="store_true", help="tiny run (512 rows, 1 epoch) to check a config")
    train.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    train.add_argument("--help-config", action="store_true", help="list every config key with its default")
    train.add_argument("--no-report", action="store_true",
                       help="do not build RUN/report.html and RUN/figures/ at the end (aekit report RUN does it later)")
    _plugin_option(train)

    report = sub.add_parser("report", help="build a run's HTML report, or compare several runs",
                            description="Build RUN/report.html (every figure that applies, one self-contained file) "
                                        "and RUN/figures/*.png; with several runs, one page comparing them.")
    report.add_argument("runs", nargs="+", metavar="RUN", help="run folder(s)")
    report.add_argument("--out", help="output HTML file (default: RUN/report.html; for several runs, "
                                      "comparison.html beside the first run)")
    _plugin_option(report)

    for name, what in (("encode", "codes h = f(x)"), ("reconstruct", "reconstructions x_hat = g(f(x))")):
        p = sub.add_parser(name, help=f"write the {what} of a trained run for some data, as .npy")
        p.add_argument("run", metavar="RUN", help="run folder")
        p.add_argument("--data", help="data set name or path (default: the run's training data)")
        p.add_argument("--label-column", type=int, help="CSV/npy column that holds labels (dropped)")
        p.add_argument("--split", choices=("all", "train", "val", "test"), default=None,
                       help="which split of the data, split as in the run (default: the test split of the run's own "
                            "data; all rows of data given with --data)")
        p.add_argument("--out", required=True, help="output .npy file")
        _plugin_option(p)

    explore = sub.add_parser("explore", help="write an interactive page of a run's code space (one HTML file)",
                             description="One self-contained page: a map of the test codes coloured by label, the "
                                         "picked code as sliders decoded at once in the page, interpolation between "
                                         "two codes, and prior samples for a variational model.")
    explore.add_argument("run", metavar="RUN", help="run folder")
    explore.add_argument("--out", help="output HTML file (default: RUN/explore.html)")
    explore.add_argument("--map", default="tsne", help="how a code of more than 2 units is mapped to the plane: "
                                                       "tsne (default) or pca")
    _plugin_option(explore)

    export = sub.add_parser("export", help="write a run's encoder and decoder as ONNX or torch.export programs",
                            description="Write encoder.<format>, decoder.<format> (a batch of any size) and "
                                        "export.json (shapes, rescaling, what each output is) into a folder; the "
                                        "encoder gives what 'aekit encode' gives (a variational model's posterior "
                                        "mean), the decoder what 'aekit reconstruct' gives. ONNX needs "
                                        "pip install 'aekit[export]'.")
    export.add_argument("run", metavar="RUN", help="run folder")
    export.add_argument("--format", default="onnx", help="onnx (default) or pt2 (torch.export)")
    export.add_argument("--out", required=True, help="output folder")
    _plugin_option(export)

    ft = sub.add_parser("finetune", help="fine-tune a run's encoder as a classifier on few labels",
                        description="Drop the decoder of a trained run, attach a head, train it with the encoder "
                                    "frozen, then end to end; accuracy on the run's test split.")
    ft.add_argument("run", metavar="RUN", help="run folder of a trained autoencoder (labelled data)")
    ft.add_argument("--labels", type=_labels, default=100, help="labelled examples in all, the fifth that stops training early included (or 'all'; default 100)")
    ft.add_argument("--head", choices=("softmax", "mlp"), default="softmax", help="classifier head")
    ft.add_argument("--freeze-epochs", type=int, help="epochs with the encoder frozen")
    ft.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="any fine-tuning setting, e.g. --set finetune_lr=1e-4 (see --help-config)")
    ft.add_argument("--out", help="output folder (default RUN/finetune-<labels>-<head>)")
    ft.add_argument("--help-config", action="store_true", help="list every fine-tuning setting")
    ft.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    _plugin_option(ft)

    lc = sub.add_parser("labelcurve", help="test accuracy against the number of labels, with and without pretraining")
    lc.add_argument("run", metavar="RUN", help="run folder of a trained autoencoder (labelled data)")
    lc.add_argument("--budgets", nargs="+", type=_labels, default=[10, 100, 300, 1000, None],
                    help="label budgets (numbers, or 'all'); default 10 100 300 1000 all")
    lc.add_argument("--draws", type=int, default=3, help="seeded label draws per budget (default 3)")
    lc.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="fine-tuning settings for the network methods")
    lc.add_argument("--out", help="output folder (default RUN/labelcurve)")
    _plugin_option(lc)

    ladder = sub.add_parser("ladder", help="train a ladder network on few labels (a strict budget) into a run folder",
                            description="Semi-supervised classification with a ladder network (Rasmus et al., NIPS "
                                        "2015): --labels rows of the training split are labelled, drawn stratified; "
                                        "every training row is unlabelled data; the validation split is not read; "
                                        "accuracy on the test split, read once.")
    ladder.add_argument("--data", help="shorthand for --set data.name=DATA (a labelled data set from 'aekit datasets' "
                                       "or a path; default mnist5k)")
    ladder.add_argument("--labels", type=_labels, default=argparse.SUPPRESS,
                        help="labelled training rows in all, drawn stratified (or 'all'; default 100)")
    ladder.add_argument("--variant", help="shorthand for --set ladder.variant=VARIANT: full (a denoising cost at "
                                          "every layer, default) or gamma (at the top layer only)")
    ladder.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="any setting, e.g. --set ladder.epochs=50 --set ladder.hidden=[500,250] (see "
                             "--help-config; repeatable)")
    ladder.add_argument("--out", help="folder for run folders (default: runs)")
    ladder.add_argument("--name", help="run folder name (default: data-ladder-variant-labels-time)")
    ladder.add_argument("--dry-run", action="store_true",
                        help="tiny run (512 training rows, 1 epoch) to check a config")
    ladder.add_argument("--resume", metavar="RUN", help="continue the unfinished (killed or interrupted) ladder run "
                                                        "in folder RUN from its checkpoint, with its own config")
    ladder.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    ladder.add_argument("--help-config", action="store_true", help="list every setting with its default")

    tour = sub.add_parser("tour", help="re-measure every claim of the lecture; one HTML page with computed verdicts")
    tour.add_argument("--quick", action="store_true", help="tiny versions of every experiment (minutes; not evidence)")
    tour.add_argument("--only", type=lambda text: [t.strip() for t in text.split(",") if t.strip()], default=None,
                      metavar="CLAIM,...", help="run these claims only (e.g. pretraining,contractive)")
    tour.add_argument("--out", default=None, help="output folder (default docs/tour, or tour-quick for --quick)")
    tour.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds (default 0 1 2 3 4; --quick: 0)")
    tour.add_argument("--threads", type=int, default=1,
                      help="CPU threads for torch and BLAS (default 1: on a shared machine 2 threads ran 3-5x slower)")
    tour.add_argument("--readme", default=None, metavar="README.md",
                      help="also put the result tables between the README's <!-- tour:begin/end --> markers")
    tour.add_argument("--data", default="mnist5k", choices=("mnist5k", "mnist"),
                      help="mnist5k (bundled, 3,500 training images; default) or mnist (the papers' scale: 50,000 "
                           "training images and the official 10,000 test images, fetched once and cached)")
    tour.add_argument("--list", action="store_true", help="list the claims and exit")
    tour.add_argument("--rewrite", action="store_true",
                      help="measure nothing: write tour.html, tables.md (and the --readme block) again from the "
                           "results.json in --out, as this aekit renders them")

    sub.add_parser("datasets", help="list what --data accepts")
    return parser


def _labels(text: str) -> int | None:
    if text == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of labels or 'all', not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"the number of labels must be at least 1, not {value}")
    return value
