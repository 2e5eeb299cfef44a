"""What a fit says while it runs: one line per epoch, the same for ``aekit train`` (``aekit finetune``)
and an estimator's ``verbose=1`` (STYLE.md: one epoch printout).

    epoch  7 (<= 200)  train: loss 95.1 (recon 94.8, l1 0.3)  |  val: loss 97.2 (recon 96.9, l1 0.3)  |  0.4s  *

``(<= 200)`` is the budget of ``epochs: auto`` (a fixed count reads ``7/50``); ``*`` marks a new best
validation epoch, the weights a run keeps. Imports nothing heavy: the command line's ``--help`` path
stays free of torch.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO


def terms_text(terms: Mapping[str, float] | None) -> str:
    """``loss 95.1 (recon 94.8, l1 0.3)``: the total first, then each term ('-' when there are none)."""
    if not terms:
        return "-"
    parts = ", ".join(f"{k} {v:.4g}" for k, v in terms.items() if k != "loss")
    return f"loss {terms['loss']:.4g} ({parts})"


def epoch_line(record: Mapping[str, Any], train: Any, prefix: str = "") -> str:
    """The line of one epoch's ``record`` (as :class:`~aekit.training.trainer.Trainer` passes to ``on_epoch``),
    ``prefix`` first (an estimator's name). ``train`` is the fit's :class:`~aekit.training.trainer.TrainConfig`
    (its epoch count or budget)."""
    total = train.total_epochs
    of = f" (<= {total})" if train.auto else f"/{total}"
    line = (f"{prefix}epoch {record['epoch']:>{len(str(total))}}{of}  train: {terms_text(record['train'])}"
            f"  |  val: {terms_text(record['val'])}  |  {record['seconds']:.1f}s")
    if record["best_epoch"] == record["epoch"] and record["val"]:
        line += "  *"
    return line


def epoch_printer(train: Any, prefix: str = "", stream: TextIO | None = None) -> Callable[[dict[str, Any]], None]:
    """An ``on_epoch`` callback that prints each epoch's :func:`epoch_line` to ``stream`` (default: stdout at
    each call)."""

    def show(record: dict[str, Any]) -> None:
        print(epoch_line(record, train, prefix), file=stream or sys.stdout, flush=True)

    return show


def phase_printer(stream: TextIO | None = None) -> Callable[[dict[str, Any]], None]:
    """An ``on_epoch`` callback for :func:`aekit.training.finetune.finetune`: one line per epoch of each
    phase (``frozen``: the head alone, ``finetune``: end to end, ``scratch``: no pretraining)."""

    def show(record: dict[str, Any]) -> None:
        print(f"{record['phase']:>8} epoch {record['epoch']:>3}  train: {terms_text(record['train'])}  |  val: "
              f"{terms_text(record['val'])}", file=stream or sys.stdout, flush=True)

    return show


__all__ = ["terms_text", "epoch_line", "epoch_printer", "phase_printer"]
