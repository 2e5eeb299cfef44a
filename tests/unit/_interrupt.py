"""Stops a training run as Ctrl-C would, for the tests that resume it from its checkpoint."""

import pytest


def fit_until_interrupted(trainer, epoch: int, checkpoint, *data) -> None:
    """``trainer.fit(*data)`` with checkpoints to ``checkpoint``, interrupted (KeyboardInterrupt) when
    epoch ``epoch`` has ended."""

    def interrupt(record):
        if record["epoch"] == epoch:
            raise KeyboardInterrupt

    trainer.checkpoint = checkpoint
    trainer.on_epoch = interrupt
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(*data)
