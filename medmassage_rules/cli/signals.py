"""Signals end a command the way Ctrl-C does: SIGTERM and SIGHUP raise :class:`Stopped` (a
KeyboardInterrupt, so every ``except KeyboardInterrupt`` that flushes rows, stops workers and
removes temporary files runs for them too), and the exit code is 128 + the signal number
(130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP), as a shell reports a command a signal ended.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["Stopped", "exit_code_for", "stopping_signals"]

HANDLED = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None)
_last: list[int] = []  # the signal that stopped the current command, if any


class Stopped(KeyboardInterrupt):
    """The process was asked to stop by a signal other than SIGINT."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise(signum: int, frame: FrameType | None) -> None:
    _last.append(signum)
    raise Stopped(signum)


@contextmanager
def stopping_signals() -> Iterator[None]:
    """While a command runs, SIGTERM and SIGHUP raise :class:`Stopped` (main thread only: signal
    handlers can be set nowhere else). The earlier handlers come back afterwards."""
    _last.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {s: signal.signal(s, _raise) for s in HANDLED}
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


def exit_code_for(error: BaseException | None) -> int:
    """128 + the number of the signal that stopped the command (SIGINT when it was Ctrl-C)."""
    while error is not None and not isinstance(error, Stopped):
        error = error.__context__
    if isinstance(error, Stopped):
        return 128 + error.signum
    return 128 + (_last[-1] if _last else int(signal.SIGINT))
