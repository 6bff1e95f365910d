"""What the interactive commands share: injected input and output, and numbered menus.

A dialogue (the trace's step and quiz modes, the consultation) never reads the terminal
itself: it gets ``ask(prompt) -> answer`` and ``say(text)`` callables, which the command
line wires to click and tests to scripted lists. A dialogue ends - never an endless loop - at
the end of the input (``ask`` raises EOFError), on Ctrl-C, and when the same answer that moves
nothing on is given :data:`REPEATS` times in a row (:class:`Patience`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..errors import MedMassageError, printable, shown

Ask = Callable[[str], str]
Say = Callable[[str], None]

REPEATS = 3          # the same answer that moves nothing on, this many times in a row, ends a dialogue
MOST_IDLE = 20       # so do this many answers in a row that move nothing on
MAX_ANSWER = 1000    # characters in one answer


def menu(labels: Iterable[str], columns: int = 3, width: int = 34, indent: str = "  ") -> str:
    """Numbered choices in columns: ' 1) carpal tunnel syndrome   2) ...'."""
    cells = [f"{i:>2}) {label}" for i, label in enumerate(labels, 1)]
    width = max(width, *(len(c) + 2 for c in cells)) if cells else width   # a long label never runs into the next
    return "\n".join(indent + "".join(c.ljust(width) for c in cells[k:k + columns]).rstrip()
                     for k in range(0, len(cells), columns))


class AnswerRepeated(MedMassageError):
    """The same answer that moves nothing on was given :data:`REPEATS` times in a row (``yes |``)."""


def unreadable(text: str) -> str | None:
    """Why an answer cannot be taken as typed (a control character, a byte that is not UTF-8, too
    long), or None. Such an answer is refused at the prompt, so nothing written can hold it."""
    if len(text) > MAX_ANSWER:
        return f"an answer is at most {MAX_ANSWER} characters (got {len(text)})"
    escaped = printable(text, one_line=True)
    if escaped != text:
        bad = next(c for c in text if printable(c, one_line=True) != c)
        return (f"the answer holds {printable(bad, one_line=True)}, a control character or a byte that is "
                "not UTF-8: type it again without")
    return None


class Patience:
    """Counts the answers in a row that move nothing on (refused, or ``why``/``hint`` again): the same
    one :data:`REPEATS` times, or :data:`MOST_IDLE` of any, ends the dialogue - never an endless loop."""

    def __init__(self, what: str):
        self.what = what
        self.last: str | None = None
        self.same = 0
        self.idle = 0

    def idle_answer(self, text: str, prompt: str) -> None:
        """An answer that did not move the dialogue on; raises AnswerRepeated when patience ends."""
        self.same = self.same + 1 if text == self.last else 1
        self.last = text
        self.idle += 1
        if self.same >= REPEATS or self.idle >= MOST_IDLE:
            times = f"the same answer {shown(text)} {REPEATS} times" if self.same >= REPEATS else \
                f"{MOST_IDLE} answers"
            raise AnswerRepeated(printable(f"{times} in a row did not answer {prompt!r}: the {self.what} stops",
                                           one_line=True))

    def moved_on(self) -> None:
        self.last, self.same, self.idle = None, 0, 0
