"""What the interactive commands share: injected input and output, and numbered menus.

A dialogue (the trace's step and quiz modes, the consultation) never reads the terminal
itself: it gets ``ask(prompt) -> answer`` and ``say(text)`` callables, which the command
line wires to click and tests to scripted lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Ask = Callable[[str], str]
Say = Callable[[str], None]


def menu(labels: Iterable[str], columns: int = 3, width: int = 34, indent: str = "  ") -> str:
    """Numbered choices in columns: ' 1) carpal tunnel syndrome   2) ...'."""
    cells = [f"{i:>2}) {label}" for i, label in enumerate(labels, 1)]
    width = max(width, *(len(c) + 2 for c in cells)) if cells else width   # a long label never runs into the next
    return "\n".join(indent + "".join(c.ljust(width) for c in cells[k:k + columns]).rstrip()
                     for k in range(0, len(cells), columns))
