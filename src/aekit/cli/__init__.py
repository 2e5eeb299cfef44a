"""The ``aekit`` command line: train, resume, report, encode and reconstruct, explore and export, ladder (few labels),
list data sets.

The only package that imports everything — lazily, inside each command (one module per group of commands:
``train``, ``runs``, ``labels``, ``tour``; their arguments in ``parser``), so ``aekit --help`` answers
without importing torch. A user mistake (an :class:`aekit.errors.AekitError`) is printed as one line
with exit status 2 and no traceback; Ctrl-C during training saves and says how to resume (status 130).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from aekit.cli.labels import cmd_finetune, cmd_labelcurve
from aekit.cli.parser import _parser
from aekit.cli.runs import cmd_datasets, cmd_encode, cmd_explore, cmd_export, cmd_reconstruct, cmd_report
from aekit.cli.tour import cmd_tour
from aekit.cli.train import cmd_ladder, cmd_train


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
    from aekit.errors import AekitError, StorageError
    from aekit.io import advised, storage_error

    try:
        if getattr(args, "plugin", None):  # the user's word, before anything reads a config that names them
            from aekit.registry import load_plugins

            args.plugin = load_plugins(args.plugin)
        code = COMMANDS[args.command](args)
        _leave_process_group()
        return code
    except AekitError as error:
        told = advised(error, _storage_advice(args)) if isinstance(error, StorageError) else error
        print(f"aekit {args.command}: error: {told}", file=sys.stderr)
        return 2
    except OSError as error:  # a fault of the machine or of a path (disk full, no permission) outside aekit.io's writes
        told = advised(storage_error(error, error.filename, doing="use"), _storage_advice(args))
        print(f"aekit {args.command}: error: {told}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aekit: interrupted", file=sys.stderr)
        return 130


def _storage_advice(args: object) -> dict[int, str]:
    """What to do after a fault of the disk, where the command changes it (:func:`aekit.io.advised`): a
    training run keeps its last checkpoint and resumes from it, and resuming writes into the run folder
    itself (no --out). Every other command, the ladder too, is run again once there is space."""
    import errno

    if args.command != "train":
        return {}
    if not args.resume:
        return {errno.ENOSPC: "free some space and run it again (a run keeps its last checkpoint: resume it with "
                              "'aekit train --resume RUN')"}
    writable = ("the run folder must be writable to resume it (a resume writes into it); change its permissions, "
                "or copy the run folder somewhere writable and resume the copy")
    return {errno.ENOSPC: "free some space and resume it again ('aekit train --resume RUN' continues from its last "
                          "checkpoint)",
            errno.EDQUOT: "free some of your disk quota and resume it again",
            errno.EFBIG: "the file is larger than this process may write (ulimit -f) or the file system allows; raise "
                         "the limit and resume it again",
            errno.EROFS: writable, errno.EACCES: writable, errno.EPERM: writable}


def _leave_process_group() -> None:
    """Under torchrun, every command that ends well meets the other processes before leaving the group:
    a process that tears gloo down while another still talks to it is aborted ("terminate called without
    an active exception"), which `finetune` under two processes met in CI. No group joined, nothing to do."""
    if "aekit.training.distributed" in sys.modules:
        from aekit.training import distributed

        distributed.shutdown(wait=True)


COMMANDS = {"train": cmd_train, "report": cmd_report, "encode": cmd_encode, "reconstruct": cmd_reconstruct,
            "explore": cmd_explore, "export": cmd_export,
            "finetune": cmd_finetune, "labelcurve": cmd_labelcurve, "ladder": cmd_ladder, "tour": cmd_tour,
            "datasets": cmd_datasets}
