"""Evidence checks of a knowledge base, for ``kb lint``: do grades, citations and words match?

- **grade-source** (error): a rule graded H cites something other than a guideline or a
  systematic review (H means the source is one of those and supports the claim);
- **traceable** (warning): a reference with no DOI, PMID, URL or ISBN and no stated
  ``no_identifier``, or one not in the structured form at all;
- **claim-acuity** (warning): a rule about a diagnosis whose description names an acuity
  (acute, subacute, chronic) but which tests none.

A rule that gives a modality a benefit a caveat grades X for it never loads (the loader refuses
it, and ``kb lint`` reports it with the other loading problems): an X claim is never a reason.

Each check returns (severity, check, rule or None, where, message) tuples; ``lint.py`` turns them
into findings. Nothing here prints.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..kb.rule_specs import Reference, RuleSpec

EVIDENCE_KINDS = ("guideline", "systematic_review")
ACUITY_WORDS = re.compile(r"\b(acute|sub-?acute|chronic)\b", re.IGNORECASE)
Problem = tuple[str, str, RuleSpec | None, str, str]


def grade_source(rules: list[RuleSpec], references: dict[str, str],
                 meta: dict[str, Reference]) -> Iterator[Problem]:
    for rule in rules:
        if rule.grade != "H" or rule.citation not in references:
            continue
        ref = meta.get(rule.citation)
        if ref is None:
            yield ("error", "grade-source", rule, "", f"graded H, but its citation {rule.citation} is not a "
                   "structured reference, so nothing shows it is a guideline or systematic review")
        elif ref.kind not in EVIDENCE_KINDS:
            yield ("error", "grade-source", rule, "", f"graded H, but its citation {rule.citation} is a "
                   f"{ref.kind.replace('_', ' ')}: H needs a guideline or systematic review (grade it M or L)")


def traceable(references: dict[str, str], meta: dict[str, Reference]) -> Iterator[Problem]:
    for key in references:
        ref = meta.get(key)
        if ref is None:
            yield ("warning", "traceable", None, f"reference {key}", "not in the structured form (authors, "
                   "year, title, venue, kind, and a doi, pmid, url or isbn)")
        elif ref.identifier is None and not ref.no_identifier:
            yield ("warning", "traceable", None, f"reference {key}", "no doi, pmid, url or isbn: give one, "
                   "or say why there is none with no_identifier")


def _tests_acuity(rule: RuleSpec) -> bool:
    return any(kind == "diagnosis" and isinstance(fields, dict) and ({"acuity", "onset_days"} & set(fields))
               for kind, fields in (*rule.positive, *rule.negative))


def claim_acuity(rules: list[RuleSpec]) -> Iterator[Problem]:
    for rule in rules:
        if not any(kind == "diagnosis" for kind, _ in rule.positive) or _tests_acuity(rule):
            continue
        words = sorted({w.lower() for w in ACUITY_WORDS.findall(rule.description)})
        if words:
            yield ("warning", "claim-acuity", rule, "", f"its description says {' and '.join(words)}, but the "
                   "rule tests no acuity: it fires whatever the acuity (add an acuity condition or reword)")


def evidence_problems(rules: list[RuleSpec], references: dict[str, str],
                      meta: dict[str, Reference]) -> list[Problem]:
    """Every evidence problem of these rules and references, in a stable order."""
    return [*grade_source(rules, references, meta), *traceable(references, meta), *claim_acuity(rules)]
