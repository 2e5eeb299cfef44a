"""The errors of a data file that cannot be read: one line naming the file, what is wrong and what to do."""

from __future__ import annotations

from aekit.errors import DataError


def pickled_objects(source: str) -> DataError:
    return DataError(
        f"{source} holds an array of Python objects (dtype object), which aekit never unpickles; save "
        f"numbers instead, e.g. numpy.save(path, x.astype(numpy.float32))."
    )


def corrupt_file(source: str, kind: str, error: BaseException, fix: str) -> DataError:
    if "allow_pickle" in str(error):  # numpy's refusal of an object array (.npz): the file is fine, its dtype is not
        return pickled_objects(source)
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return DataError(
        f"Cannot read {source} as {kind} ({reason}). The file may be truncated or corrupt; {fix}."
    )
