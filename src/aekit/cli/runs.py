"""Commands that read a trained run: ``report``, ``encode``, ``reconstruct``, ``explore``, ``export``, and
``datasets`` (what ``--data`` accepts)."""

from __future__ import annotations

import argparse
import logging


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
