"""The values of a FHIR record as a case holds them: text made safe and short, drugs named in it, units.

A record's text reaches three places: the case file (a medication's name), the comments at the
head of the case file and the messages on stderr. :func:`case_text` keeps only what a case may
hold - no control character, escape sequence, bidirectional override or lone surrogate, at most
``limit`` characters (counted after lower-casing, as a case counts a medication's name) - so
that ``recommend`` reads back whatever the import writes. :func:`comment` makes a line safe for
a YAML comment and a terminal. A text is cut before it is matched against the drug table, so
a megabyte of text costs no more than a name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from ..errors import printable
from .fhir_projection import Concept
from .medications import load_drugs

MAX_NAME = 200        # a case's medication name (cases/fields.py MedicationName)
MAX_MATCHED = 400     # characters of a medication text looked at for a drug's name
MAX_LABEL = 120       # characters of a record's text quoted in a message
MAX_COMMENT = 500     # characters of one comment line of the case file

# what a case may not hold: controls (all of C0, DEL, C1), lone surrogates, line and
# paragraph separators, bidirectional marks, embeddings, overrides and isolates, the byte order
# mark and the two non-characters YAML refuses
_NOT_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
                       "\ufeff\ufffe\uffff]")


def case_text(text: str, limit: int = MAX_NAME) -> str:
    """``text`` with what a case may not hold made a space, blanks folded, cut to ``limit`` characters.

    Only the first ``4 * limit`` characters are looked at; the result is at most ``limit``
    characters long before and after lower-casing (a few characters grow when lower-cased).
    """
    text = " ".join(_NOT_TEXT.sub(" ", text[:4 * limit]).split())[:limit]
    while len(text.lower()) > limit:
        text = text[:-1].rstrip()
    return text


def label(text: str) -> str:
    """A record's text as quoted in a message: one line, at most MAX_LABEL characters (an ellipsis when cut)."""
    short = case_text(text, MAX_LABEL + 1)
    return short if len(short) <= MAX_LABEL else short[:MAX_LABEL - 3] + "..."


def comment(line: str) -> str:
    """One line for a YAML comment (and a terminal): escapes shown, nothing YAML refuses, at most MAX_COMMENT."""
    safe = printable(line[:MAX_COMMENT], one_line=True).replace("\ufeff", "\\ufeff")
    return safe.replace("\ufffe", "\\ufffe").replace("\uffff", "\\uffff")


# SNOMED CT laterality qualifiers (Left 7771000, Right 24028007, Bilateral 51440002)
SIDE_QUALIFIERS = {"7771000": "left", "24028007": "right", "51440002": "bilateral"}
_SIDE_WORDS = re.compile(r"\b(left|right|bilateral|both)\b", re.IGNORECASE)


def side_of(concepts: Iterable[Concept | None]) -> str | None:
    """The side a set of concepts names: a laterality qualifier code, or the words left / right / bilateral."""
    sides: set[str] = set()
    for concept in concepts:
        if concept is None:
            continue
        sides.update(SIDE_QUALIFIERS[c.code] for c in concept.codings if c.code in SIDE_QUALIFIERS)
        for text in (concept.text, *(c.display for c in concept.codings)):
            words = _SIDE_WORDS.findall((text or "")[:MAX_MATCHED])
            sides.update("bilateral" if w.lower() == "both" else w.lower() for w in words)
    if not sides:
        return None
    return sides.pop() if len(sides) == 1 else "bilateral"


@lru_cache(maxsize=1)
def _drug_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    drugs = load_drugs().drugs
    names = sorted(drugs, key=len, reverse=True)  # the longest name first: "insulin glargine" before "insulin"
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(n) for n in names) + r")(?![\w-])", re.IGNORECASE)
    return pattern, {n: drugs[n].name for n in names}


def drug_named(text: str) -> str | None:
    """The generic name of the table's drug a medication text names ("Lasix 40mg" -> furosemide).

    Only the first MAX_MATCHED characters are matched.
    """
    pattern, generic = _drug_pattern()
    match = pattern.search(" ".join(text[:MAX_MATCHED].split()))
    return generic[" ".join(match.group(1).lower().split())] if match else None


def drugs_named(text: str) -> list[str]:
    """Every generic name of the table's drugs a medication text names, in order, once each.

    A combination product ("Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet")
    names each of its parts. Only the first MAX_MATCHED characters are matched.
    """
    pattern, generic = _drug_pattern()
    found: list[str] = []
    rest = " ".join(text[:MAX_MATCHED].split())
    while rest and (match := pattern.search(rest)) is not None:
        name = generic[" ".join(match.group(1).lower().split())]
        if name not in found:
            found.append(name)
        rest = rest[max(match.end(), 1):]
    return found
