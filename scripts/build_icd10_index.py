"""Generate rules/intake/icd10cm.tsv.gz, the compact ICD-10-CM index read by medmassage_rules.intake.codes.

The index is generated from the maintained ``simple-icd-10-cm`` package (the CMS tabular list
it ships), so the code set is never typed by hand; the package itself is too slow to import on
every run (about 1.6 s), so the command line reads this index instead, and only when a case
holds a code. ``tests/intake/test_codes.py`` checks the shipped index against the package.

Usage:  pip install simple-icd-10-cm && python scripts/build_icd10_index.py [OUTPUT]

Format (UTF-8 text, gzip-compressed, one record a line, fields separated by tabs, the records
sorted by their first field so that a reader can binary-search the text):
  # comment lines: the source and its version
  @<code>\t<char>=<text>\t<char>=<text>...   seventh-character definitions held by <code>
  <code>\t<parent>\t<side>\t<sevenths>\t<description>
where <code> is a chapter number, a block ("C00-C96"; a block holding a single category,
which ICD-10-CM names after it, is written "C50-C50") or a code with its dot; <parent> the
code one level up, left empty when it is the code less its last character (and empty for a
chapter); <side> R, L or B when the description names the
right, left or both sides (empty otherwise); <sevenths> the seventh characters a leaf code
takes (empty when none): the code padded with the placeholder X to six characters plus one of
them is a valid code whose description is the leaf's, a comma, and that character's text from
the nearest ancestor holding definitions.
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path
from typing import Any

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "rules" / "intake" / "icd10cm.tsv.gz"

# "right" or "left" naming a structure of the heart or great vessels, a conduction path, a
# shunt direction, a part of the colon, or "left" as a verb is not the side of the body
# (I50.81 right heart failure, I44.7 left bundle-branch block, T81.6 ... accidentally left).
_NOT_A_SIDE = re.compile(
    r"\b(right|left)[- ](heart|ventric\w*|atri\w*|bundle|anterior fascicular|posterior fascicular|"
    r"fascicular|coronary|anterior descending|circumflex|sided|aortic arch|superior vena cava|"
    r"to[- ](left|right))\b|\[(right|left)\]|\baccidentally left\b|\bleft (in|during)\b",
    re.IGNORECASE)
_RIGHT = re.compile(r"\bright\b", re.IGNORECASE)
_LEFT = re.compile(r"\bleft\b", re.IGNORECASE)
_BILATERAL = re.compile(r"\bbilateral\b", re.IGNORECASE)


def side_of(description: str) -> str:
    """R, L or B when an ICD-10-CM description names the side of the body; else ''."""
    text = _NOT_A_SIDE.sub(" ", description)
    if _BILATERAL.search(text):
        return "B"
    right, left = bool(_RIGHT.search(text)), bool(_LEFT.search(text))
    if right and left:
        return "B"
    return "R" if right else "L" if left else ""


def implied_parent(code: str) -> str:
    """The code less its last character and any dot it then ends with (G56.01 -> G56.0 -> G56)."""
    return code[:-1].rstrip(".") if "." in code else ""


def _clean(text: str) -> str:
    return " ".join(text.replace("\t", " ").split())


def source() -> str:
    """The package version and the tabular list it ships ("simple-icd-10-cm 1.5.0, icd10c-tabular-....xml")."""
    from importlib.metadata import version
    from importlib.resources import files

    tabular = sorted(p.name for p in files("simple_icd_10_cm.data").iterdir() if p.name.endswith(".xml"))
    return f"simple-icd-10-cm {version('simple-icd-10-cm')}, {', '.join(tabular)}"


def _enclosing_blocks(cm: Any, codes: list[str], single: set[str]) -> dict[str, str]:
    """Each block's smallest enclosing block (C43-C44 -> C00-C75 -> C00-C96).

    The tabular list puts every block of a chapter directly under the chapter; a block covers
    the categories from its first to its last in the list's order (D3A lies between D36 and
    D37 there, not where the alphabet puts it), so nesting is worked out from the ranges.
    """
    position: dict[str, int] = {}
    for i, code in enumerate(codes):
        if cm.is_category(code):
            position.setdefault(code, i)
    spans: dict[str, tuple[int, int]] = {}
    for code in codes:
        if "-" in code and cm.is_block(code):
            first, last = code.split("-")
            if first in position and last in position:
                spans[code] = (position[first], position[last])
    spans.update({f"{c}-{c}": (position[c], position[c]) for c in single if c in position})
    out: dict[str, str] = {}
    for block, (lo, hi) in spans.items():
        around = [(end - start, b) for b, (start, end) in spans.items() if b != block and start <= lo and hi <= end]
        if around:
            out[block] = min(around)[1]
    return out


def build_lines() -> list[str]:
    import simple_icd_10_cm as cm  # the package is needed only here and in the tests

    lines = ["# ICD-10-CM index for medmassage-rules, generated by scripts/build_icd10_index.py",
             f"# source: {source()}"]
    codes = cm.get_all_codes(with_dots=True)
    single = {code for code in codes if cm.is_block(code) and cm.get_parent(code) == code}
    enclosing = _enclosing_blocks(cm, codes, single)
    for code in dict.fromkeys(codes):
        if cm.is_extended_subcategory(code):
            continue
        if code in single:  # a block holding one category has its name (C50): written as C50-C50
            block = f"{code}-{code}"
            lines.append("\t".join((block, enclosing.get(block) or cm.get_ancestors(code)[-1], "", "",
                                    _clean(cm.get_description(code, prioritize_blocks=True)))))
        defs = cm.get_seven_chr_def(code)
        if defs:
            lines.append("@" + code + "".join(f"\t{char}={_clean(text)}" for char, text in defs.items()))
        parent = enclosing.get(code) or cm.get_parent(code)
        if parent == code:
            parent = f"{code}-{code}"
        if parent and parent == implied_parent(code):
            parent = ""
        children = cm.get_children(code)
        sevenths = "".join(c[-1] for c in children if cm.is_extended_subcategory(c))
        lines.append("\t".join((code, parent, side_of(cm.get_description(code)), sevenths,
                                _clean(cm.get_description(code)))))
    return lines


def main(argv: list[str]) -> int:
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    lines = build_lines()
    header = [line for line in lines if line.startswith("#")]
    body = sorted((line for line in lines if not line.startswith("#")), key=lambda line: line.split("\t", 1)[0])
    data = ("\n".join(header + body) + "\n").encode("utf-8")
    output.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    print(f"{output}: {len(data)} bytes of text, {output.stat().st_size} compressed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
