"""Output files that never destroy an input or an earlier result.

An output is written under a temporary name in its own folder and renamed over its final
path only when it is complete (:meth:`OutputFile.commit`): a failed or interrupted run
leaves the earlier file as it was. An existing output that is not a regular file (``/dev/null``,
a pipe) is written in place - there is nothing there to lose. :func:`check_outputs` refuses,
before any file is touched, an output that is also an input (the same file, by device and
inode, so a hard link or another spelling of the path is caught too) or that names the same
file as another output; :class:`OutputFile` itself refuses to open any file the process has read
(:mod:`~medmassage_rules.files.guard`), so no command can write over its own input. A partial
output kept after an interruption takes a name no file has yet.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from ..errors import MedMassageError, printable
from .guard import input_named


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of an existing regular file, else None."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino) if stat.S_ISREG(info.st_mode) else None


def identities(paths: Iterable[Path]) -> dict[tuple[int, int], Path]:
    """The (device, inode) of each existing regular file among ``paths``."""
    found: dict[tuple[int, int], Path] = {}
    for path in paths:
        key = _identity(path)
        if key is not None:
            found.setdefault(key, path)
    return found


def _named(option: str, path: Path) -> str:
    return printable(f"{option} {path}", one_line=True)


def check_outputs(outputs: Mapping[str, Path | None], inputs: Mapping[tuple[int, int], Path]) -> None:
    """Refuse, before anything is written, an output that would destroy an input or another output.

    ``outputs`` maps an option name (``--report``) to its path; ``inputs`` maps the
    (device, inode) of each input file to its path. Raises MedMassageError naming the option.
    """
    seen: dict[Any, str] = {}
    for option, path in outputs.items():
        if path is None or str(path) == "-":
            continue
        path = Path(path)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            info = None
        except OSError as exc:
            raise MedMassageError(f"{_named(option, path)}: cannot write: {exc.strerror or exc}") from None
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise MedMassageError(f"{_named(option, path)}: is a folder, not a file")
        if info is None and not path.parent.is_dir():
            raise MedMassageError(f"{_named(option, path)}: cannot write: the folder {path.parent} does not exist")
        key = (info.st_dev, info.st_ino) if info is not None and stat.S_ISREG(info.st_mode) else None
        if key is not None and key in inputs:
            raise MedMassageError(f"{_named(option, path)}: is also an input ({printable(str(inputs[key]))}); "
                                  "writing it would destroy the cases it holds")
        _refuse_an_input(option, path)
        for name in (key, os.path.realpath(path)):
            if name is not None and name in seen and (info is None or stat.S_ISREG(info.st_mode)):
                raise MedMassageError(f"{_named(option, path)}: is the same file as {seen[name]}; "
                                      "each output needs a file of its own")
        if key is not None:
            seen[key] = option
        seen[os.path.realpath(path)] = option


def _refuse_an_input(option: str, path: Path) -> None:
    read = input_named(path)
    if read is not None:
        raise MedMassageError(f"{_named(option, path)}: is also an input ({printable(read, one_line=True)}); "
                              "writing it would destroy it")


class OutputFile:
    """One output file, written to a temporary file beside it and renamed into place on commit().

    ``open()`` creates the temporary file (so an unwritable folder fails at once, before any
    work); ``commit()`` renames it over the path; ``discard()`` removes it; ``keep_as(suffix)``
    renames it to the path plus a suffix (an interrupted run's partial output). A path that
    exists and is not a regular file is opened and written in place.
    """

    def __init__(self, path: str | Path, *, binary: bool = False):
        # a symlink to a file: replace the file it points to, not the link
        self.path = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
        self.binary = binary
        self.handle: IO[Any] | None = None
        self.temporary: str | None = None

    def _fail(self, exc: OSError) -> MedMassageError:
        return MedMassageError(f"{printable(str(self.path), one_line=True)}: cannot write: {exc.strerror or exc}")

    def open(self) -> IO[Any]:
        _refuse_an_input("output", self.path)
        in_place = os.path.exists(self.path) and _identity(self.path) is None
        try:
            if in_place:
                raw: IO[Any] = open(self.path, "wb")  # noqa: SIM115 (closed by commit/discard)
            else:
                fd, self.temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                                      dir=self.path.parent)
                raw = os.fdopen(fd, "wb")
        except OSError as exc:
            raise self._fail(exc) from None
        if self.binary:
            self.handle = raw
        else:  # a lone surrogate (an id from a non-UTF-8 file name) is written as its JSON escape
            import io
            self.handle = io.TextIOWrapper(raw, encoding="utf-8", errors="backslashreplace", newline="\n")
        return self.handle

    def _close(self) -> None:
        if self.handle is not None:
            handle, self.handle = self.handle, None
            try:
                handle.close()
            except OSError as exc:
                self.discard()
                raise self._fail(exc) from None

    def commit(self) -> None:
        """Finish the file: flush, close, and rename it into place."""
        try:
            if self.handle is not None:
                self.handle.flush()
                if self.temporary is not None:
                    os.fsync(self.handle.fileno())
        except OSError as exc:
            self.discard()
            raise self._fail(exc) from None
        self._close()
        if self.temporary is not None:
            self._permissions(self.temporary)
            try:
                os.replace(self.temporary, self.path)
            except OSError as exc:
                self.discard()
                raise self._fail(exc) from None
            self.temporary = None

    def _permissions(self, temporary: str) -> None:
        """The earlier file's permissions, or a new file's (mkstemp creates it 0600)."""
        try:
            if _identity(self.path) is not None:
                os.chmod(temporary, stat.S_IMODE(os.stat(self.path).st_mode))
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(temporary, 0o666 & ~umask)
        except OSError:
            pass  # the content matters more than its mode

    def keep_as(self, suffix: str) -> Path | None:
        """Close and keep what was written as ``path + suffix`` (None when written in place)."""
        try:
            self._close()
        except MedMassageError:
            return None
        if self.temporary is None:
            return None
        self._permissions(self.temporary)
        for number in range(1000):  # never over an existing file: REPORT.partial, REPORT.partial.1, ...
            kept = self.path.with_name(self.path.name + suffix + (f".{number}" if number else ""))
            try:
                os.link(self.temporary, kept)  # fails if the name is taken, unlike a rename
            except FileExistsError:
                continue
            except OSError:
                break
            self.discard()
            return kept
        self.discard()
        return None

    def discard(self) -> None:
        """Drop the temporary file: the earlier output, if any, is left as it was."""
        if self.handle is not None:
            handle, self.handle = self.handle, None
            try:
                handle.close()
            except OSError:
                pass
        if self.temporary is not None:
            try:
                os.unlink(self.temporary)
            except OSError:
                pass
            self.temporary = None


def write_output(path: str | Path, text: str) -> None:
    """Write a whole text file safely: complete, or the earlier file left untouched."""
    out = OutputFile(path)
    handle = out.open()
    try:
        handle.write(text)
    except OSError as exc:
        out.discard()
        raise out._fail(exc) from None
    except BaseException:
        out.discard()
        raise
    out.commit()
