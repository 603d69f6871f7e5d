"""Our exception types. Only the CLI turns them into one line and exit code 2."""

from __future__ import annotations


class BenchError(Exception):
    """A problem the user can fix; the message says what to do."""

    exit_code = 2
    """What `bench` exits with after the message's one line: 2, bad input, nothing written."""


class UsageError(BenchError):
    """Bad input: an unknown name, a bad value, a malformed file, an unwritable folder."""


class StorageError(UsageError):
    """A file of bench's could not be written: a full disk, a quota, a file-size limit, a read-only
    folder. What was already written is intact (every file is replaced whole, samples are appended)."""


class RunStoppedError(BenchError):
    """A run stopped before its end with every finished sample saved: the message gives the
    `bench run --resume` command that finishes it."""

    exit_code = 1


class MissingExtraError(BenchError):
    """An optional package is not installed."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the Python package '{package}', which is not installed: "
            f"pip install 'bench[{extra}]' (from a checkout: pip install -e '.[{extra}]')"
        )


class DoesNotFitError(BenchError):
    """A model too large for the memory there is: in a sweep, that size is left out and the rest run."""
