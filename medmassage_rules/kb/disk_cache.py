"""Loaded knowledge bases cached on disk, in the user's own cache directory only.

Reading and checking the rule files (YAML, pydantic, every cross-reference) is most of a cold
start; the result is cached as one file per knowledge base, named by a digest of everything it
was built from: the rule files' names and contents, the folder, the program version, the
Python version and the source of the modules whose objects it holds. A changed rule, an
upgrade or an edit of those modules gives another name, so a stale file is never read.

The format is pickle, because a knowledge base is a graph of frozen dataclasses and pydantic
models that would otherwise need a hand-written reader for every class (one more thing to
keep in step with the models). Pickle runs code when read, so nothing is unpickled that this
user's own program did not write: every file carries an HMAC-SHA256 of its bytes, made with a
random key kept beside the files (created once, mode 0600, in a 0700 folder), and a file is
read only when the folder, the key and the file belong to this user and nobody else may write
them, and the HMAC verifies. A corrupt, foreign or unverifiable file is ignored (and
replaced); any failure of the cache falls back to reading the rule files, and never changes
what is loaded. The eight most recently written entries are kept.

Where: ``$XDG_CACHE_HOME/medmassage-rules`` (when that is an absolute path), else
``~/.cache/medmassage-rules`` (``%LOCALAPPDATA%`` on Windows). ``MEDMASSAGE_RULES_NO_CACHE=1``
turns the cache off.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import stat
import sys
from pathlib import Path
from typing import Any

from .knowledge_base import KnowledgeBase

APP = "medmassage-rules"
MAGIC = b"medmassage-rules kb cache 1\n"
KEY_FILE = "key"
KEY_BYTES = 32
KEEP = 8  # entries kept: the most recently written (other knowledge bases, other versions)
# The modules whose classes a cached knowledge base holds (or which decide what it holds).
_MODULES = ("__init__.py", "errors.py", "kb")


def cache_dir() -> Path | None:
    """The user's cache folder for this program, or None when the cache is off."""
    if os.environ.get("MEDMASSAGE_RULES_NO_CACHE"):
        return None
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA")
        return Path(base) / APP / "Cache" if base else None
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base_path = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base_path / APP


def _program_digest() -> bytes:
    """The program's version and the source of the modules a cached knowledge base depends on."""
    package = Path(__file__).resolve().parent.parent
    h = hashlib.sha256(sys.version.encode())
    for name in _MODULES:
        path = package / name
        files = sorted(path.glob("*.py")) if path.is_dir() else [path]
        for file in files:
            h.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return h.digest()


_PROGRAM: bytes | None = None


def digest(root: Path) -> str:
    """The name of a knowledge base's cache file: what it was built from, hashed."""
    global _PROGRAM
    if _PROGRAM is None:
        _PROGRAM = _program_digest()
    h = hashlib.sha256(_PROGRAM)
    h.update(str(root.resolve()).encode() + b"\0")
    for path in sorted(root.glob("*.y*ml")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _private(path: Path, *, directory: bool) -> bool:
    """``path`` is this user's, and (on POSIX) nobody else may write it (nor read it, for the key)."""
    try:
        info = path.lstat()
    except OSError:
        return False
    if directory and not stat.S_ISDIR(info.st_mode) or not directory and not stat.S_ISREG(info.st_mode):
        return False
    if os.name == "nt":
        return True
    if info.st_uid != os.getuid():
        return False
    banned = stat.S_IWGRP | stat.S_IWOTH | (0 if directory else stat.S_IRGRP | stat.S_IROTH)
    return not info.st_mode & banned


def _key(folder: Path, *, create: bool) -> bytes | None:
    """The HMAC key kept in the cache folder (made on first use), or None if it cannot be trusted."""
    path = folder / KEY_FILE
    if create and not path.exists():
        import secrets  # only to make a key: a load that finds one need not import it

        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_bytes(KEY_BYTES))
    if not (_private(folder, directory=True) and _private(path, directory=False)):
        return None
    key = path.read_bytes()
    return key if len(key) == KEY_BYTES else None


def load(root: Path) -> KnowledgeBase | None:
    """The cached knowledge base of ``root``, or None (no cache, or one that cannot be trusted)."""
    try:
        folder = cache_dir()
        if folder is None:
            return None
        key = _key(folder, create=False)
        path = folder / f"kb-{digest(root)}.pickle"
        if key is None or not _private(path, directory=False):
            return None
        data = path.read_bytes()
        mac, body = data[len(MAGIC):len(MAGIC) + 32], data[len(MAGIC) + 32:]
        if not data.startswith(MAGIC) or not hmac.compare_digest(mac, hmac.new(key, body, "sha256").digest()):
            return None
        kb = pickle.loads(body)  # noqa: S301 (written by this user's program: the HMAC verified)
    except Exception:  # noqa: BLE001 (any failure of the cache means: read the rule files)
        return None
    return kb if isinstance(kb, KnowledgeBase) else None


def store(root: Path, kb: KnowledgeBase) -> None:
    """Cache ``kb`` as the knowledge base of ``root``; quietly nothing when that cannot be done."""
    try:
        folder = cache_dir()
        if folder is None:
            return
        key = _key(folder, create=True)
        if key is None:
            return
        import tempfile  # only to write: a start that loads from the cache need not import it

        body = pickle.dumps(_bare(kb), protocol=pickle.HIGHEST_PROTOCOL)
        data = MAGIC + hmac.new(key, body, "sha256").digest() + body
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".kb-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, folder / f"kb-{digest(root)}.pickle")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        entries = sorted(folder.glob("kb-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP:]:
            old.unlink(missing_ok=True)
    except Exception:  # noqa: BLE001,S110 (a cache that cannot be written is only a slower next start)
        return


def _bare(kb: KnowledgeBase) -> Any:
    """``kb`` without what is computed on first use (the knowledge graph): cached as loaded."""
    if "graph" not in kb.__dict__:
        return kb
    state = {k: v for k, v in kb.__dict__.items() if k != "graph"}
    copy = object.__new__(KnowledgeBase)
    object.__setattr__(copy, "__dict__", state)
    return copy
