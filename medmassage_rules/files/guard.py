"""The inputs a process has read, so that no output of the same process can replace one.

Every regular file opened through :func:`~medmassage_rules.files.reading.open_regular` (cases,
rule files, a baseline report, a FHIR bundle) is noted here by device and inode, and a command
notes whole folders it depends on (the knowledge base's, even when it was loaded from a cache).
:class:`~medmassage_rules.files.writing.OutputFile` refuses to open an output that is one of
them - by inode, so through a symbolic or hard link too - before anything is written.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

__all__ = ["forget_inputs", "input_named", "note_folder", "note_input", "note_inputs"]

_SEEN: dict[tuple[int, int], str] = {}
MAX_FOLDER_FILES = 100_000  # a knowledge-base folder holds tens of files; stop noting past this many


def _identity(path: str | Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return (info.st_dev, info.st_ino) if stat.S_ISREG(info.st_mode) else None


def forget_inputs() -> None:
    """Start afresh: a new command line (run in the same process, as tests do) has its own inputs."""
    _SEEN.clear()


def note_input(path: str | Path, identity: tuple[int, int] | None = None) -> None:
    """Remember a file this process reads (``identity``: its (device, inode), when already known)."""
    key = identity if identity is not None else _identity(path)
    if key is not None:
        _SEEN.setdefault(key, str(path))


def note_inputs(paths: Iterable[str | Path]) -> None:
    for path in paths:
        note_input(path)


def note_folder(folder: str | Path) -> None:
    """Remember every regular file below a folder (a knowledge base: its rules and intake tables)."""
    count = 0
    for top, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            note_input(os.path.join(top, name))
            count += 1
            if count >= MAX_FOLDER_FILES:
                return


def input_named(path: str | Path) -> str | None:
    """The input this path would overwrite (as it was named when read), or None."""
    key = _identity(path)
    return _SEEN.get(key) if key is not None else None
