"""``aekit train`` (and ``--resume``) and ``aekit ladder``: a run into its run folder, then its report."""

from __future__ import annotations

import argparse
import sys


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
        if args.out is not None:  # '' is refused by the config, as aekit ladder --out '' is
            overrides.append(f"out={json.dumps(args.out)}")
        if args.name is not None:
            overrides.append(f"name={json.dumps(args.name)}")
        if args.dry_run:
            overrides += ["data.limit=512", "train.epochs=1"]
        config = run_config.make_config(args.config, overrides, preset=args.preset, plugins=args.plugin)
        result = run.train(config, progress=not args.quiet, verbose=not args.quiet)
    from aekit.training import distributed

    distributed.shutdown(wait=True)  # under torchrun: training is over, rank 0 alone writes the report
    if not result.main_process:
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
    best = "0 (the start at PCA: no epoch beat it)" if best == 0 else best
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


def cmd_ladder(args: argparse.Namespace) -> int:
    import json

    from aekit.errors import ConfigError
    from aekit.estimator.ladder_run import LadderRunConfig, make_ladder_config, read_ladder_config, run_ladder

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
    if args.resume:
        if overrides or hasattr(args, "labels"):
            raise ConfigError("--resume continues a ladder run with its own config (its ladder.yaml): give it no "
                              "--data, --labels, --variant, --set, --out, --name or --dry-run.")
        result = run_ladder(read_ladder_config(args.resume), verbose=not args.quiet, resume=args.resume)
    else:
        result = run_ladder(make_ladder_config(overrides), verbose=not args.quiet)
    summary = result.summary
    epochs = f"{summary['epochs']} epoch{'s' * (summary['epochs'] != 1)}"
    print(f"test accuracy {summary['accuracy']:.4f} (error {summary['error']:.4f}) with {summary['labels']} labels "
          f"on {summary['test_size']} test rows ({epochs}, {summary['stop_reason']}, {summary['seconds']:.1f} s)")
    _report_after_training(result.run_dir, "ladder")
    print(result.run_dir)  # the last line is the run folder, for scripts
    if summary["stop_reason"] == "interrupted":
        print(f"Interrupted after {epochs}: the weights of then are saved, and tested above.\nResume with: aekit "
              f"ladder --resume {result.run_dir}", file=sys.stderr)
        return 130
    return 0
