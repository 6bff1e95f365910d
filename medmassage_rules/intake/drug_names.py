"""Drug names as a chart writes them: the names a listed medication holds.

A medication list copied from a chart writes a drug with more than its name: a brand or the
generic in brackets ("apixaban (ELIQUIS) 5 MG tablet", "Xarelto (rivaroxaban)", "apixaban
[Eliquis]"), a strength, salt, release or dose form ("clopidogrel bisulfate 75 mg"), the dosing
instructions ("Eliquis BID", "warfarin qhs", "Lovenox SC daily", "docetaxel q3wk", "Coumadin as
directed per INR") and a combination's parts joined by "/", "+" or "-" ("HYDROcodone-acetaminophen
(NORCO) 5-325 MG"). Read only by the whole text, an anticoagulated patient would be planned as if
the drug were absent.

These functions only take words away or take a text apart; a name is known only when a part of it
is, word for word, a name the knowledge base knows (never by similarity: the plan's "did you mean"
hint is the only guess). A hyphenated text counts only when every part of it is known, because a
hyphen also joins the words of one name ("Solu-Medrol", "co-codamol", "omega-3"), or when it is a
biosimilar: a known biologic (a name ending in -mab, -cept or -grastim) and a four-letter FDA suffix
("adalimumab-atto", "infliximab-dyyb"). Marks an EHR export adds (®, ™, ©) are read as nothing; a
comma, semicolon or colon after a word, or a lone dash between spaces, ends the name ("Eliquis, 5 mg",
"warfarin - INR monitored"), and a period after its last word is dropped ("Warfarin."). Only words
are taken away after the first: a word before a drug's name ("stopped Eliquis", "no aspirin") keeps
the text unknown. Only the first MAX_NAME characters are read, so every step is bounded whatever the
length of the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# characters of a name matched: the case model keeps no longer name (cases.fields.MedicationName),
# and a longer text would cost time in the matching (a megabyte of "x hcl hcl ...": 40 s) for nothing
MAX_NAME = 200
# words after a drug's name that do not change what it is: salts and esters, release forms, dose forms
NAME_SUFFIXES = frozenset({
    "hcl", "hydrochloride", "sodium", "potassium", "calcium", "magnesium", "phosphate", "sulfate", "sulphate",
    "bisulfate", "tartrate", "bitartrate", "succinate", "besylate", "maleate", "citrate", "mesylate", "acetate",
    "etexilate", "tosylate", "fumarate", "hyclate", "bromide", "hydrobromide", "chloride", "medoxomil",
    "cilexetil", "propionate", "furoate", "trihydrate", "monohydrate", "dihydrate", "anhydrous",
    "er", "sr", "xr", "xl", "cr", "la", "ir", "ec", "dr", "odt", "tablet", "tablets", "tab", "tabs", "capsule",
    "capsules", "cap", "caps", "patch", "injection", "syringe", "pen", "vial", "oral", "solution", "suspension",
    "liquid", "daily",
    "inj", "injectable", "film-coated", "coated", "film", "starter", "pack", "kit", "prefilled", "pre-filled",
    "autoinjector", "auto-injector", "vials", "wafer", "wafers", "orally", "disintegrating", "dosepak", "taper"})
# words that start the dosing instructions: frequency, route and directions (read without dots:
# "b.i.d." is bid); a name is cut before the first of them as before its strength
SIG_WORDS = frozenset({
    "bid", "tid", "qid", "qd", "qod", "qhs", "hs", "qam", "qpm", "qday", "qdaily", "qweek", "qwk", "prn",
    "po", "sc", "sq", "subq", "subcut", "iv", "im", "sl", "daily", "nightly", "weekly", "monthly", "twice",
    "once", "every", "as", "per", "by", "at", "take", "inject", "ud"})
_SIG = re.compile(r"q\d[\w-]*")                      # q3wk, q4h, q4-6h, q12h
_BRACKETS = re.compile(r"[(\[]([^()\[\]]*)[)\]]")     # (ELIQUIS), [Percocet]
_COMBINED = re.compile(r"\s*[/+]\s*")
# marks an EHR export writes after a brand (ELIQUIS®, Xarelto™): read as nothing
_MARKS = str.maketrans("", "", "®™©")
# a dash standing alone between spaces: what follows is a note, not a part of the name
_DASHES = frozenset({"-", "–", "—"})
# a biosimilar: a biologic's name and a four-letter FDA suffix (adalimumab-atto); only these biologics
_BIOSIMILAR = re.compile(r"([a-z]+(?:mab|cept|grastim))-[a-z]{4}")


def _ends_name(word: str) -> bool:
    """Whether a word (not the first) starts the strength or the dosing instructions."""
    bare = word.strip(".,;:").replace(".", "")
    return (word[0].isdigit() or word.startswith("#") or word in _DASHES or bare in SIG_WORDS
            or bool(_SIG.fullmatch(bare)))


def _cut(words: list[str]) -> list[str]:
    """The words of the name: before the strength, the dosing instructions or a lone dash (not
    the first word), up to a word a comma, semicolon or colon ends ("eliquis, 5 mg": "eliquis"),
    without a period after the last word ("warfarin.")."""
    for i, word in enumerate(words):
        if i and _ends_name(word):
            words = words[:i]
            break
        if word[-1] in ",;:":
            words = [*words[:i], word.rstrip(",;:")]
            break
    if words:
        words = [*words[:-1], words[-1].rstrip(".")]
    return [word for word in words if word]


def name_keys(name: str) -> list[str]:
    """The keys one name is looked up by: the name itself, then cut before its strength or dosing
    instructions ("warfarin 5 mg tablet", "aspirin 81mg", "Eliquis BID", "Lovenox SC daily"), then
    without a salt, release or dose-form suffix ("oxycodone hcl", "clopidogrel bisulfate")."""
    text = name[:MAX_NAME].lower()
    keys = [" ".join(text.split())]
    words = _cut(text.translate(_MARKS).split())
    while len(words) > 1 and words[-1].strip(".,") in NAME_SUFFIXES:
        words = words[:-1]
    keys.append(" ".join(words))
    return list(dict.fromkeys(k for k in keys if k))


def written_names(name: str) -> list[str]:
    """The texts a name holds: the text outside its brackets, then each bracketed text
    ("apixaban (ELIQUIS) 5 MG tablet": "apixaban 5 mg tablet", "eliquis"); the name when it has none."""
    text = " ".join(name[:MAX_NAME].lower().translate(_MARKS).split())
    inside = [" ".join(part.split()) for part in _BRACKETS.findall(text)]
    if not inside:
        return [text]
    return [t for t in (" ".join(_BRACKETS.sub(" ", text).split()), *inside) if t]


def _one(text: str, known: Callable[[str], bool]) -> list[str]:
    """One drug's name: its first known key; else a known biologic with a biosimilar's suffix
    ("adalimumab-atto"); else, written with hyphens, every part's key when every part is known
    ("hydrocodone-acetaminophen"); else none."""
    keys = name_keys(text)
    hit = next((key for key in keys if known(key)), None)
    if hit is not None:
        return [hit]
    biosimilar = _BIOSIMILAR.fullmatch(keys[-1])
    if biosimilar is not None and known(biosimilar[1]):
        return [biosimilar[1]]
    parts = [part.strip() for part in keys[-1].split("-")]
    if len(parts) < 2 or not all(parts):
        return []
    hits = [next((key for key in name_keys(part) if known(key)), "") for part in parts]
    return hits if all(hits) else []


def _text_keys(text: str, known: Callable[[str], bool]) -> list[str]:
    """A text outside or inside brackets: itself when known; else, a combination written with "/" or
    "+" (oxycodone/acetaminophen 5/325), each part that is known; else the one drug it names."""
    whole = name_keys(text)[0]
    if known(whole):
        return [whole]
    parts = [part for part in _COMBINED.split(whole) if part and not part[0].isdigit()]
    if len(parts) > 1:
        return [key for part in parts for key in _one(part, known)]
    return _one(text, known)


def known_keys(name: str, known: Callable[[str], bool]) -> list[str]:
    """The keys a name is classified by: the name itself when known; else the known names of each
    text outside and inside its brackets; else the name itself (unrecognised)."""
    whole = name_keys(name)[0]
    if known(whole):
        return [whole]
    found = [key for text in written_names(name) for key in _text_keys(text, known)]
    return list(dict.fromkeys(found)) or [whole]
