"""Atomic file writes: a temporary file in the same folder, flushed, then renamed over the target.

A crash or SIGKILL at any moment leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from aekit.errors import StorageError


def _umask() -> int:
    """The process umask: from /proc on Linux (no change to the process state), else by setting it
    and putting it back at once."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` then rename the temporary file to ``path``.

    The file gets the mode ``open()`` would give a new file (0666 less the umask), not the 0600 of
    ``tempfile.mkstemp``, so reports and run files can be shared as any other file the user writes.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise storage_error(error, path) from None
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # after write(): a writer may have replaced the file
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # the previous file, if any, is untouched
        converted = storage_error(error, path) if isinstance(error, Exception) else None
        if converted is not None:
            raise converted from None
        raise


# errno -> what to do; these are faults of the machine, not of aekit, and are told in one line
_ADVICE = {
    errno.ENOSPC: "free some space and run it again (a run keeps its last checkpoint: resume it with "
                  "'aekit train --resume RUN')",
    errno.EDQUOT: "free some of your disk quota and run it again",
    errno.EROFS: "the file system is read-only; write to another folder (--out)",
    errno.EACCES: "you may not write there; write to another folder (--out) or change its permissions",
    errno.EPERM: "you may not write there; write to another folder (--out) or change its permissions",
    errno.ENOTDIR: "a part of that path is a file, not a folder; choose another path",
    errno.EISDIR: "that path is a folder; give a file name",
}
# libraries that write through their own I/O (torch.save, safetensors) report a full disk in words only
_NO_SPACE_WORDS = ("No space left on device", "unexpected pos", "file write failed")


def storage_error(error: BaseException, path: str | Path) -> StorageError | None:
    """``error`` from writing ``path`` as a one-line :class:`StorageError`, or None when it is no storage fault."""
    if isinstance(error, StorageError):
        return error
    code = getattr(error, "errno", None) if isinstance(error, OSError) else None
    if code is None and any(words in str(error) for words in _NO_SPACE_WORDS):
        code = errno.ENOSPC
    if code not in _ADVICE:
        return None
    return StorageError(code, f"Cannot write {str(path)!r}: {os.strerror(code)}; {_ADVICE[code]}.")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            handle.write(data)

    atomic_write(path, write)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def readme_markers(key: str) -> tuple[str, str]:
    """The HTML comments around a block of a README that a command writes: ``<!-- key:begin -->``, ``<!-- key:end -->``."""
    return f"<!-- {key}:begin -->", f"<!-- {key}:end -->"


def write_readme_block(readme: Path, key: str, text: str) -> None:
    """Put ``text`` between the README's ``key`` markers (exactly one pair of them), atomically, so that
    nothing between them is typed by hand: ``aekit tour --readme`` writes the block ``tour``,
    ``benchmarks/trainer_throughput.py --readme`` ``performance``, an experiment's ``--readme`` its name."""
    import re

    from aekit.errors import ConfigError

    begin, end = readme_markers(key)
    readme = Path(readme)
    content = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), flags=re.DOTALL)
    if len(pattern.findall(content)) != 1:
        raise ConfigError(f"{readme} needs exactly one {begin} ... {end} block for what this command writes there.")
    block = text if text.endswith("\n") else text + "\n"
    atomic_write_text(readme, pattern.sub(lambda _: f"{begin}\n{block}{end}", content))


def atomic_save_npy(path: str | Path, array: Any) -> None:
    """``np.save`` to exactly ``path`` (no ``.npy`` appended to the temporary name), atomically."""
    import numpy as np

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            np.save(handle, array)

    atomic_write(Path(path), write)


LOCK_NAME = ".aekit.lock"  # in a run folder: held (flock) by the one process writing that run


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an advisory lock (``fcntl.flock``) on ``folder/.aekit.lock`` while the block runs.

    A second process asking for the same folder is refused at once with the holder's PID (written in
    the lock file), instead of both writing the folder. The kernel releases the lock when the holder
    exits, even by SIGKILL, so a stale lock file never blocks anyone. Where ``fcntl`` does not exist
    (Windows) the block runs unlocked.
    """
    from aekit.errors import ConfigError

    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path = Path(folder) / LOCK_NAME
    try:
        handle = open(path, "a+")
    except OSError as error:
        raise (storage_error(error, path) or error) from None
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise ConfigError(f"Run folder {str(folder)!r} is being written by another aekit process (PID {holder}); "
                              f"wait for it to finish, or choose another --name.") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock


def read_json(path: str | Path, what: str, fix: str, kind: type = dict) -> Any:
    """The JSON document in ``path``, which must be a ``kind`` (a dict by default); anything else is one
    line (:class:`aekit.errors.ConfigError`) naming the file, what it should hold and ``fix``."""
    import json

    from aekit.errors import ConfigError

    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{str(path)!r} is not valid JSON ({error}); it should hold {what}. {fix}") from None
    if not isinstance(document, kind):
        raise ConfigError(f"{str(path)!r} holds a JSON {type(document).__name__} where {what} should be. {fix}")
    return document


def read_json_lines(path: str | Path, what: str, fix: str) -> list[dict[str, Any]]:
    """Each non-blank line of ``path`` as a JSON object; a bad line is one line of error naming it."""
    import json

    from aekit.errors import ConfigError

    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise ConfigError(f"{str(path)!r} is not UTF-8 text; it should hold {what}. {fix}") from None
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{str(path)!r} line {number} is not valid JSON ({error.msg}); it should hold "
                              f"{what}. {fix}") from None
        if not isinstance(record, dict):
            raise ConfigError(f"{str(path)!r} line {number} is a JSON {type(record).__name__}, not an object; "
                              f"it should hold {what}. {fix}")
        records.append(record)
    return records
