"""The consultation's questions: a prompt, how its answer is read, and the rules waiting for it.

The interview is a generator (:data:`Script`) of :class:`Question` and :class:`Notice`; each
question's ``parse`` turns the raw text into an answer or raises :class:`ValueError` saying
what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

YES = ("y", "yes")
NO = ("n", "no")


@dataclass(frozen=True)
class Question:
    """One prompt: its text, how to read the answer, and who waits for it."""

    text: str
    parse: Callable[[str], Any]          # raw text -> answer; ValueError says what is wrong
    menu: str = ""
    waiting: tuple[str, ...] = ()        # rule ids
    why: str = ""                        # what `why` says besides the waiting rules


@dataclass(frozen=True)
class Notice:
    """A line to say once, between questions."""

    text: str


Script = Generator[Question | Notice, Any, dict[str, Any]]


def as_id(text: str) -> str:
    """'Trigger point', 'trigger-point' -> 'trigger_point'."""
    return text.strip().lower().replace(" ", "_").replace("-", "_")


def yes_no(default: bool) -> Callable[[str], bool]:
    """Read y/yes or n/no; Enter gives ``default``."""
    def parse(text: str) -> bool:
        t = text.strip().lower()
        if not t:
            return default
        if t in YES or t in NO:
            return t in YES
        raise ValueError("answer y or n")
    return parse
