"""Atomic file writes: a temporary file in the same folder, flushed, then renamed over the target.

A crash or SIGKILL at any moment leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from aekit.errors import AekitError, StorageError


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
    except FileExistsError:  # mkdir: a part of the path is a file
        raise storage_error(OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)), path) from None
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


# errno -> what to do; these are faults of the machine or of a path, not of aekit, and are told in one line
_ADVICE = {
    errno.ENOSPC: "free some space and run it again",  # aekit train adds how to resume (cli: advised)
    errno.EDQUOT: "free some of your disk quota and run it again",
    errno.EFBIG: "the file is larger than this process may write (ulimit -f) or the file system allows; raise the "
                 "limit, or write to another folder (--out)",
    errno.EROFS: "the file system is read-only; write to another folder (--out)",
    errno.EACCES: "you lack the permission; write to another folder (--out) or change its permissions",
    errno.EPERM: "you lack the permission; write to another folder (--out) or change its permissions",
    errno.ENOTDIR: "a part of that path is a file, not a folder; choose another path",
    errno.EISDIR: "that path is a folder; give a file name",
    errno.ENAMETOOLONG: "a name in that path is too long for the file system; choose a shorter --name or --out",
    errno.ELOOP: "a symbolic link is in the way; remove it or choose another path",
    errno.EBUSY: "that path is in use by the system (the current folder, a mount point); give a file name",
    errno.ENOENT: "it, or a folder on its path, does not exist; check the path",
}
_SOME_FAULT = "check the path and the disk, then run it again"
# libraries that write through their own I/O (torch.save, safetensors) report a full disk in words only
_NO_SPACE_WORDS = ("No space left on device", "unexpected pos", "file write failed")
# ... or name the errno in their words: safetensors' Rust "I/O error: File too large (os error 27)", "Os { code: 28"
_ERRNO_WORDS = re.compile(r"\(os error (\d+)\)|Os \{ code: (\d+)")


def storage_error(error: BaseException, path: str | Path | None, doing: str = "write") -> StorageError | None:
    """``error`` from writing ``path`` as a one-line :class:`StorageError`: any ``OSError`` (its errno names
    the cause and what to do), and a library's words for a full disk; None for anything else (a bug keeps
    its traceback). ``doing`` is the verb of the message ("write", or "use" where it may be a read)."""
    if isinstance(error, AekitError):  # already one line of its own (a DownloadError is an OSError too)
        return error if isinstance(error, StorageError) else None
    text = str(error).strip()
    code = error.errno if isinstance(error, OSError) else None
    shown = "" if path is None else str(path) if len(str(path)) <= 120 else f"{str(path)[:40]}...{str(path)[-60:]}"
    where = repr(shown) if path is not None else "a file"
    named = _ERRNO_WORDS.search(text) if code is None else None
    if named is not None:
        code = int(named.group(1) or named.group(2))
    words_only = code is None and any(words in text for words in _NO_SPACE_WORDS)
    if words_only and not _file_size_limited():
        code = errno.ENOSPC
    if code is None:
        if not isinstance(error, OSError) and not words_only:
            return None
        if words_only or ("requested and" in text and "written" in text):  # numpy's check of a short write
            told = " ".join(text.split())  # one line: torch's words span two
            told = told if len(told) <= 160 else told[:157] + "..."
            return StorageError(errno.EIO, f"Cannot {doing} {where}: the write was cut short ({told}); the disk "
                                           f"is full or the file is larger than this process may write (ulimit -f): "
                                           f"free some space or raise the limit, and run it again.")
        cause = text.splitlines()[0] if text else type(error).__name__
        return StorageError(errno.EIO, f"Cannot {doing} {where}: {cause}; {_SOME_FAULT}.")
    told = StorageError(code, f"Cannot {doing} {where}: {os.strerror(code)}; {_ADVICE.get(code, _SOME_FAULT)}.")
    told.cause = f"Cannot {doing} {where}: {os.strerror(code)}"
    return told


def advised(error: StorageError, advice: Mapping[int, str]) -> StorageError:
    """``error`` with the caller's ``advice`` for its errno in place of the general one: what to do next
    depends on the command (a training run resumes from its checkpoint, a read-only run folder cannot be
    resumed elsewhere with --out), which only the caller knows. Unchanged when ``advice`` has no word for it."""
    if error.cause is None or error.errno not in advice:
        return error
    told = StorageError(error.errno, f"{error.cause}; {advice[error.errno]}.")
    told.cause = error.cause
    return told


def _file_size_limited() -> bool:
    """Whether this process may write files of limited size only (``ulimit -f``): a write cut short is then
    that limit as likely as a full disk."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return False
    return resource.getrlimit(resource.RLIMIT_FSIZE)[0] != resource.RLIM_INFINITY


def check_writable(folder: str | Path) -> None:
    """Refuse, in one line (:func:`storage_error`), a folder that files cannot be written into, before a
    command spends minutes on work it then cannot keep (``aekit labelcurve`` on a read-only run). Writes
    and removes one empty temporary file, as :func:`atomic_write` would write it; folders it had to make
    for that are removed again, so nothing is left behind."""
    folder = Path(folder)
    made, part = [], folder
    while not os.path.lexists(part) and part != part.parent:
        made.append(part)
        part = part.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".aekit-check.", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except FileExistsError:  # mkdir: a part of the path is a file
        raise storage_error(OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)), folder) from None
    except OSError as error:
        raise storage_error(error, folder) from None
    finally:
        for path in made:  # deepest first
            with contextlib.suppress(OSError):
                path.rmdir()


def inside(folder: str | Path, name: str) -> Path:
    """``folder / name``, a folder that aekit writes below ``folder`` (a run's ``figures/``, ``labelcurve/``,
    ``finetune-*/``), refused in one line when it is, or goes through, a symbolic link out of ``folder``.

    A file written straight into ``folder`` replaces a link of its name (``os.replace``), never writes
    through it; a folder below it is where a link planted by someone else could send a write elsewhere.
    """
    from aekit.errors import ConfigError

    folder = Path(folder)
    target = folder / name
    root, real = os.path.realpath(folder), os.path.realpath(target)
    if os.path.commonpath([root, real]) != root:
        raise ConfigError(f"{str(target)!r} is a symbolic link to {real!r}, outside {str(folder)!r}; aekit never "
                          f"writes through a link out of the folder it writes. Remove the link, or give another "
                          f"folder (--out).")
    return target


def refuse_links_out(folder: str | Path) -> None:
    """Refuse, in one line, a folder that holds a symbolic link to somewhere outside it: a run or estimator
    folder from someone else must not make aekit read (or later write) a file elsewhere, e.g. a
    ``model.json -> /home/you/secret``. Links that stay inside the folder are fine."""
    from aekit.errors import ConfigError

    root = os.path.realpath(folder)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return  # a missing or unreadable folder: the reader that follows says so
    for entry in entries:
        if entry.is_symlink():
            real = os.path.realpath(entry.path)
            if os.path.commonpath([root, real]) != root:
                raise ConfigError(f"{entry.path!r} is a symbolic link to {real!r}, outside {str(folder)!r}; aekit "
                                  f"never reads or writes through a link out of a folder it is given (the folder "
                                  f"may come from someone else). Put the file itself there instead of the link.")


def write_yaml(data: Mapping[str, Any], path: str | Path) -> None:
    """Write ``data`` as YAML atomically (temporary file, then rename); a value used twice is written twice,
    since :func:`aekit.config.read_yaml` refuses aliases."""
    import yaml

    class NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    atomic_write_text(Path(path), yaml.dump(dict(data), Dumper=NoAliases, sort_keys=False))


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
    if path.is_symlink():  # opening it would create or truncate whatever it points to
        raise ConfigError(f"{str(path)!r} is a symbolic link; aekit never writes through a link in a run folder. "
                          f"Delete it (it only ever holds the PID of the process writing the run).")
    try:  # O_NOFOLLOW: a link put there after the check is refused too
        handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666), "r+")
    except OSError as error:
        raise storage_error(error, path) from None
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


def _parse_json(text: str, source: str, what: str, fix: str, error: type) -> Any:
    """``json.loads(text)``, or ``error`` of one line: not JSON, nested too deep, an int of thousands of digits."""
    import json

    try:
        return json.loads(text)
    except (ValueError, RecursionError) as reason:  # JSONDecodeError is a ValueError
        detail = reason.msg if isinstance(reason, json.JSONDecodeError) else (
            "nested too deep" if isinstance(reason, RecursionError) else str(reason).splitlines()[0])
        raise error(f"{source} is not valid JSON ({detail}); it should hold {what}. {fix}") from None


def _read_text(path: Path, what: str, fix: str, error: type) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise error(f"{str(path)!r} is not UTF-8 text; it should hold {what}. {fix}") from None


def read_json(path: str | Path, what: str, fix: str, kind: type = dict, schema: Any = None,
              error: type | None = None) -> Any:
    """The JSON document in ``path``, which must be a ``kind`` (a dict by default) and satisfy ``schema``
    (:mod:`aekit.schema`) when given; anything else is one line of ``error`` (default
    :class:`aekit.errors.ConfigError`) naming the file, the field, what it should hold and ``fix``."""
    from aekit.errors import ConfigError
    from aekit.schema import check

    error = error or ConfigError
    path = Path(path)
    document = _parse_json(_read_text(path, what, fix, error), repr(str(path)), what, fix, error)
    if not isinstance(document, kind):
        raise error(f"{str(path)!r} holds a JSON {type(document).__name__} where {what} should be. {fix}")
    return document if schema is None else check(document, schema, repr(str(path)), fix, error)


def read_json_lines(path: str | Path, what: str, fix: str, schema: Any = None) -> list[dict[str, Any]]:
    """Each non-blank line of ``path`` as a JSON object satisfying ``schema`` (when given); a bad line is
    one line of error naming it."""
    from aekit.errors import ConfigError
    from aekit.schema import check

    path = Path(path)
    records = []
    for number, line in enumerate(_read_text(path, what, fix, ConfigError).splitlines(), 1):
        if not line.strip():
            continue
        source = f"{str(path)!r} line {number}"
        record = _parse_json(line, source, what, fix, ConfigError)
        if not isinstance(record, dict):
            raise ConfigError(f"{source} is a JSON {type(record).__name__}, not an object; it should hold "
                              f"{what}. {fix}")
        records.append(record if schema is None else check(record, schema, source, fix))
    return records
