"""Errors that mean "the user asked for something that cannot be done" — never a bug in aekit.

The command line prints an :class:`AekitError` as one line and exits non-zero, without a traceback;
anything else is a bug and keeps its traceback. Each subclass is also the built-in exception a
Python user would expect (``ValueError``, ``FileNotFoundError``...), so ``except ValueError`` works.
"""

from __future__ import annotations


class AekitError(Exception):
    """Base class: a user mistake or an environment problem, explained in the message."""


class ConfigError(AekitError, ValueError):
    """A configuration key, value or combination that is not allowed."""


class DataError(AekitError, ValueError):
    """Data that cannot be read or used: missing, corrupt, ragged, non-finite, empty, out of range."""


class DataFileNotFoundError(DataError, FileNotFoundError):
    """A data path that does not exist."""


class DownloadError(AekitError, OSError):
    """A download that failed (offline, HTTP error) or whose checksum does not match."""


class WeightsError(AekitError, ValueError):
    """A weights file that is not safetensors, or that does not fit the architecture."""


class TrainingDiverged(AekitError, FloatingPointError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class StorageError(AekitError, OSError):
    """A file that cannot be written: disk full, read-only file system, no permission, a path through a file.

    Built as ``StorageError(errno, message)``, so ``error.errno`` says which; printed as the message alone.
    ``cause`` is the message without its advice ("Cannot write 'x': No space left on device"), where
    :func:`aekit.io.storage_error` built it, so that a caller can say what fits it to do next
    (:func:`aekit.io.advised`).
    """

    cause: str | None = None

    def __str__(self) -> str:
        return self.strerror or super().__str__()
