"""Commands on few labels: ``finetune`` (a run's encoder as a classifier) and ``labelcurve`` (accuracy
against the number of labels, with and without pretraining)."""

from __future__ import annotations

import argparse


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

    from aekit.io import atomic_write_bytes, atomic_write_text, check_writable, inside
    from aekit.training.labelcurve import label_curve, table, to_json
    from aekit.viz import png_bytes
    from aekit.viz.labelcurve import label_curve_figure

    config = _finetune_config(args)
    out = Path(args.out) if args.out else inside(args.run, "labelcurve")  # before any work: never out of the run
    check_writable(out)  # before any fit: a read-only run failed only when the curve was measured
    points = label_curve(args.run, budgets=args.budgets, draws=args.draws, config=config,
                         progress=lambda line: print(line, flush=True))
    markdown = f"Test accuracy (mean ± sd over {args.draws} label draws) for run `{args.run}`.\n\n{table(points)}\n"
    atomic_write_text(out / "labelcurve.md", markdown)
    atomic_write_text(out / "labelcurve.json", json.dumps(to_json(points), indent=2))
    atomic_write_bytes(out / "labelcurve.png", png_bytes(label_curve_figure(points), dpi=120))
    print(table(points))
    print(out)
    return 0
