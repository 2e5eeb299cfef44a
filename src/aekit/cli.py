"""The ``aekit`` command line: train, resume, report, encode and reconstruct, explore and export, ladder (few labels),
list data sets.

The only module that imports everything — lazily, inside each command, so ``aekit --help`` answers
without importing torch. A user mistake (an :class:`aekit.errors.AekitError`) is printed as one line
with exit status 2 and no traceback; Ctrl-C during training saves and says how to resume (status 130).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

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


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        from aekit import __version__

        print(__version__)
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    import os

    # under torchrun (torchrun -m aekit train ...) rank 0 speaks for all; the others say only what goes wrong
    level = logging.INFO if os.environ.get("RANK", "0") == "0" else logging.WARNING
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    logging.getLogger("openTSNE").setLevel(logging.WARNING)  # its INFO lines describe internals, not the run
    from aekit.errors import AekitError

    try:
        if getattr(args, "plugin", None):  # the user's word, before anything reads a config that names them
            from aekit.registry import load_plugins

            args.plugin = load_plugins(args.plugin)
        code = COMMANDS[args.command](args)
        _leave_process_group()
        return code
    except AekitError as error:
        print(f"aekit {args.command}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a fault of the machine or of a path (disk full, no permission) outside aekit.io's writes
        from aekit.io import storage_error

        print(f"aekit {args.command}: error: {storage_error(error, error.filename, doing='use')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aekit: interrupted", file=sys.stderr)
        return 130


def _leave_process_group() -> None:
    """Under torchrun, every command that ends well meets the other processes before leaving the group:
    a process that tears gloo down while another still talks to it is aborted ("terminate called without
    an active exception"), which `finetune` under two processes met in CI. No group joined, nothing to do."""
    if "aekit.training.distributed" in sys.modules:
        from aekit.training import distributed

        distributed.shutdown(wait=True)


# -- commands ------------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    import json

    from aekit.errors import ConfigError
    from aekit.training import run, run_config
    from aekit.training.progress import terms_text

    if args.help_config:
        for key, default, doc in run_config.config_keys():
            print(f"{key:<24} {default!r:<14} {doc}")
        print(f"\npresets (--preset NAME): {', '.join(run_config.presets())}")
        return 0
    if args.resume:
        if args.config or args.data or args.dry_run or args.preset:
            raise ConfigError("--resume continues a run with its own config; only --epochs and the optimiser "
                              f"settings ({', '.join(run.RESUMABLE_KEYS)}, with --set) may change it.")
        result = run.resume(args.resume, epochs=args.epochs, overrides=args.overrides, progress=not args.quiet,
                            verbose=not args.quiet)
    else:
        overrides = list(args.overrides)
        if args.data:
            overrides.append(f"data.name={args.data}")
        # quoted: a folder called '123', 'true' or '' is that string, not a YAML number, boolean or null
        if args.out:
            overrides.append(f"out={json.dumps(args.out)}")
        if args.name is not None:
            overrides.append(f"name={json.dumps(args.name)}")
        if args.dry_run:
            overrides += ["data.limit=512", "train.epochs=1"]
        config = run_config.make_config(args.config, overrides, preset=args.preset, plugins=args.plugin)
        result = run.train(config, progress=not args.quiet, verbose=not args.quiet)
    from aekit.training import distributed

    main_process = distributed.is_main_process()
    distributed.shutdown(wait=True)  # under torchrun: training is over, rank 0 alone writes the report
    if not main_process:
        return 130 if result.interrupted else 0
    if result.interrupted:
        print(f"Interrupted after {len(result.history)} completed epoch(s); the best weights so far are in "
              f"{result.run_dir}.\nResume with: {_train_command()} --resume {result.run_dir}", file=sys.stderr)
        return 130
    if result.stop_reason is not None and not args.quiet:
        print(_stop_line(result), file=sys.stderr if result.stop_reason == "budget" else sys.stdout)
    if result.test:
        print(f"test: {terms_text(result.test)}")
    if not args.no_report:
        _report_after_training(result.run_dir)
    print(result.run_dir)  # the last line is the run folder, for scripts
    return 0


def _stop_line(result: object) -> str:
    """Why training stopped, and what to do when it stopped on the budget."""
    epochs, best = len(result.history), result.best_epoch
    if result.stop_reason == "converged":
        return f"converged after {epochs} epochs: {result.stop_text or f'best epoch {best}'}"
    if result.stop_reason == "budget":
        return (f"warning: stopped on the budget of {epochs} epochs while the loss was still improving "
                f"(best epoch {best}): the model has not converged. Continue it with "
                f"'{_train_command()} --resume {result.run_dir} --epochs {2 * epochs}'.")
    return f"trained {epochs} epochs (best epoch {best})"


def _train_command() -> str:
    """``aekit train``, or under torchrun the launch that continues the run exactly (as many processes)."""
    import os

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return "aekit train"
    nodes = world // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", str(world))))
    launch = f"torchrun --nproc_per_node={world // max(1, nodes)}" + (f" --nnodes={nodes} ..." if nodes > 1 else "")
    return f"{launch} -m aekit train"


def _report_after_training(run_dir, command: str = "train") -> None:
    """Build the run's report; a user-level failure (e.g. data gone) is a warning, the run is kept."""
    from aekit.errors import AekitError
    from aekit.report import build_report

    try:
        if command == "ladder":
            from aekit.report.ladder import ladder_report

            print(f"report: {ladder_report(run_dir)}")
            return
        report = build_report(run_dir)
    except AekitError as error:
        print(f"aekit {command}: the run is complete but its report could not be built: {error}", file=sys.stderr)
        return
    print(f"report: {report.path} ({len(report.figures)} figures, {report.seconds:.1f} s)")


def cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from aekit.report import build_report, compare_runs

    if args.out is not None:
        _file_path(args.out, "report.html")  # before any work: a bad --out is known at once
    if len(args.runs) == 1:
        from aekit.estimator.ladder_run import is_ladder_run

        if is_ladder_run(args.runs[0]):  # a ladder run's page: what was trained, on how many labels, its costs
            from aekit.report.ladder import ladder_report

            print(ladder_report(args.runs[0], args.out))
            return 0
        report = build_report(args.runs[0], args.out)
        where = (f"also as PNG files in {Path(args.runs[0]) / 'figures'}" if args.out is None
                 else "in the page only (--out leaves the run folder untouched)")
        print(f"{len(report.figures)} figures ({', '.join(report.figures)}), {where}; built in {report.seconds:.1f} s")
        print(report.path)
        return 0
    print(compare_runs(args.runs, args.out))
    return 0


def _apply(args: argparse.Namespace, method: str) -> int:
    import numpy as np

    from aekit.data import load_dataset, split_dataset
    from aekit.errors import DataError
    from aekit.io import atomic_save_npy
    from aekit.training.run_folder import load_run

    out = _file_path(args.out, "codes.npy")  # before any work: a bad --out is known at once
    loaded = load_run(args.run)
    data_name = args.data or loaded.config.data.name
    label_column = args.label_column if args.label_column is not None else (
        loaded.config.data.label_column if args.data is None else None)
    ds = load_dataset(data_name, label_column=label_column)
    split = args.split or ("all" if args.data else "test")
    if split != "all":
        c = loaded.config.data
        splits = split_dataset(ds, val_fraction=c.val_fraction, test_fraction=c.test_fraction, seed=c.split_seed)
        ds = getattr(splits, split)
    expected = tuple(loaded.model.sample_shape)
    if ds.sample_shape != expected and int(np.prod(ds.sample_shape)) != int(np.prod(expected)):
        raise DataError(f"{data_name!r} has samples of shape {ds.sample_shape} but the model of {args.run} "
                        f"expects {expected}.")
    x = ds.array().reshape((len(ds), *expected))
    result = getattr(loaded, method)(x)
    atomic_save_npy(out, result)
    units = (f", in the data's own units ({loaded.preprocessing.kind} rescaling inverted)"
             if method == "reconstruct" and loaded.preprocessing is not None else "")
    rows = {"all": f"every row of {data_name!r}", "test": "the run's test split"}.get(split, f"the run's {split} split")
    chosen = "" if args.split else "; --split all, train, val or test chooses the rows"
    print(f"wrote {out}: {result.shape[0]} rows of shape {tuple(result.shape[1:])} ({rows}{chosen}){units}")
    return 0


def _file_path(out: str, example: str) -> str:
    """``--out`` as the file to write (``.npy`` appended to a missing suffix when ``example`` is one); a folder,
    or no name at all, is refused."""
    import os

    from aekit.errors import ConfigError

    if out.endswith(("/", os.sep)) or os.path.isdir(out) or os.path.basename(out) in ("", ".", ".."):
        raise ConfigError(f"--out {out!r} is a folder; give the file to write, e.g. "
                          f"{os.path.join(out, example)!r}.")
    suffix = os.path.splitext(example)[1]
    return out if suffix != ".npy" or out.endswith(suffix) else f"{out}{suffix}"


def cmd_encode(args: argparse.Namespace) -> int:
    return _apply(args, "encode")


def cmd_reconstruct(args: argparse.Namespace) -> int:
    return _apply(args, "reconstruct")


def cmd_explore(args: argparse.Namespace) -> int:
    from aekit.report.explore import build_explorer, check_map

    check_map(args.map)  # before any work: a bad --map is known at once
    if args.out is not None:
        _file_path(args.out, "explore.html")
    page = build_explorer(args.run, args.out, method=args.map)
    print(f"{page.points} test points mapped by {page.method}, {page.sliders} sliders, {page.bytes / 1e6:.1f} MB, "
          f"built in {page.seconds:.1f} s")
    print(page.path)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from aekit.analysis.export import export_run

    for name in ("torch.onnx", "onnxscript", "onnx_ir"):  # their INFO lines describe the exporter's own passes
        logging.getLogger(name).setLevel(logging.WARNING)
    done = export_run(args.run, args.out, args.format)
    print(f"wrote {done.encoder.name}, {done.decoder.name} and {done.description.name} ({args.format})")
    print(done.out)
    return 0


def _finetune_config(args: argparse.Namespace, **fixed: object) -> object:
    from aekit import config as cfg
    from aekit.training.finetune import FinetuneConfig

    data = cfg.merge(cfg.parse_overrides(args.overrides), {k: v for k, v in fixed.items() if v is not None or k == "labels"})
    return cfg.from_dict(FinetuneConfig, data)


def cmd_finetune(args: argparse.Namespace) -> int:
    from aekit.training.finetune import finetune_run

    if args.help_config:
        from aekit.training.finetune import FinetuneConfig
        from aekit.training.run_config import config_keys

        for key, default, doc in config_keys(FinetuneConfig()):
            print(f"{key:<16} {default!r:<10} {doc}")
        return 0
    config = _finetune_config(args, labels=args.labels, head=args.head, freeze_epochs=args.freeze_epochs)
    from aekit.training.progress import phase_printer

    line = None if args.quiet else phase_printer()
    summary = finetune_run(args.run, config, out=args.out, on_epoch=line)
    from aekit.training import distributed

    if not distributed.is_main_process():  # under torchrun rank 0 speaks for all
        return 0
    print(f"test accuracy {summary['accuracy']:.4f} (error {summary['error']:.4f}) with {summary['labels']} labels "
          f"on {summary['test_size']} test rows")
    print(summary["out"])
    return 0


def cmd_labelcurve(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from aekit.io import atomic_write_bytes, atomic_write_text, inside
    from aekit.training.labelcurve import label_curve, table, to_json
    from aekit.viz import png_bytes
    from aekit.viz.labelcurve import label_curve_figure

    config = _finetune_config(args)
    out = Path(args.out) if args.out else inside(args.run, "labelcurve")  # before any work: never out of the run
    points = label_curve(args.run, budgets=args.budgets, draws=args.draws, config=config,
                         progress=lambda line: print(line, flush=True))
    markdown = f"Test accuracy (mean ± sd over {args.draws} label draws) for run `{args.run}`.\n\n{table(points)}\n"
    atomic_write_text(out / "labelcurve.md", markdown)
    atomic_write_text(out / "labelcurve.json", json.dumps(to_json(points), indent=2))
    atomic_write_bytes(out / "labelcurve.png", png_bytes(label_curve_figure(points), dpi=120))
    print(table(points))
    print(out)
    return 0


def cmd_ladder(args: argparse.Namespace) -> int:
    import json

    from aekit.estimator.ladder_run import LadderRunConfig, make_ladder_config, run_ladder

    if args.help_config:
        from aekit.training.run_config import config_keys

        for key, default, doc in config_keys(LadderRunConfig()):
            print(f"{key:<26} {default!r:<28} {doc}")
        return 0
    overrides = list(args.overrides)
    # quoted: a data set or folder called '123', 'true' or '' is that string, not a YAML number, boolean or null
    for key, value in (("data.name", args.data), ("ladder.variant", args.variant), ("out", args.out),
                       ("name", args.name)):
        if value is not None:
            overrides.append(f"{key}={json.dumps(value)}")
    if hasattr(args, "labels"):
        overrides.append(f"labels={json.dumps(args.labels)}")  # 'all' is null
    if args.dry_run:
        overrides += ["data.limit=512", "ladder.epochs=1"]
    result = run_ladder(make_ladder_config(overrides), verbose=not args.quiet)
    summary = result.summary
    epochs = f"{summary['epochs']} epoch{'s' * (summary['epochs'] != 1)}"
    print(f"test accuracy {summary['accuracy']:.4f} (error {summary['error']:.4f}) with {summary['labels']} labels "
          f"on {summary['test_size']} test rows ({epochs}, {summary['stop_reason']}, {summary['seconds']:.1f} s)")
    _report_after_training(result.run_dir, "ladder")
    print(result.run_dir)  # the last line is the run folder, for scripts
    if summary["stop_reason"] == "interrupted":
        print(f"Interrupted after {epochs}: the weights of then are saved, and tested above.", file=sys.stderr)
        return 130
    return 0


def cmd_tour(args: argparse.Namespace) -> int:
    import sys

    from aekit.registry import get
    from aekit.tour.runner import claims, run_tour

    if args.list:
        for name in claims():
            print(f"{name:<16} {get('claim', name).title}")
        return 0
    scale = "" if args.data == "mnist5k" else f"-{args.data}"
    out = args.out or (f"tour-quick{scale}" if args.quick else f"docs/tour{scale}")
    if args.rewrite:
        from aekit.tour.runner import rewrite_tour

        tour = rewrite_tour(out, readme=args.readme)
        print(f"{tour.out / 'tour.html'} (rewritten from {tour.out / 'results.json'}; nothing measured)")
        return 0
    command = " ".join(["aekit tour", *(["--quick"] if args.quick else []), *(["--data", args.data] if scale else []),
                        *(["--only", ",".join(args.only)] if args.only
                        else []), *(["--seeds", *map(str, args.seeds)] if args.seeds else []),
                        f"--threads {args.threads}", *(["--readme", args.readme] if args.readme else [])])
    tour = run_tour(out, quick=args.quick, only=args.only, seeds=args.seeds, threads=args.threads,
                    readme=args.readme, command=command, log=lambda message: print(message, file=sys.stderr),
                    data=args.data)
    for section in tour.sections:
        print(f"{section.verdict:<14} {section.title} ({section.seconds:.0f} s)")
    print(f"{tour.out / 'tour.html'} ({tour.seconds:.0f} s)")
    return 1 if any(section.evidence is None for section in tour.sections) else 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from aekit.data import list_datasets
    from aekit.registry import available, get

    rows = list_datasets()
    width = max(len(name) for name, _ in rows)
    named = set(available("dataset"))
    for name, description in rows:
        print(f"{name:<{width}}  {description}")
        loader = get("dataset", name) if name in named else None
        if getattr(loader, "origin", ""):
            print(f"{'':<{width}}  data: {loader.origin}")
        if getattr(loader, "local", None) is not None:
            print(f"{'':<{width}}  local copy: {loader.local()}")
    return 0


COMMANDS = {"train": cmd_train, "report": cmd_report, "encode": cmd_encode, "reconstruct": cmd_reconstruct,
            "explore": cmd_explore, "export": cmd_export,
            "finetune": cmd_finetune, "labelcurve": cmd_labelcurve, "ladder": cmd_ladder, "tour": cmd_tour,
            "datasets": cmd_datasets}


if __name__ == "__main__":
    sys.exit(main())
