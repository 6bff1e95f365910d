"""Evidence checks of a knowledge base, for ``kb lint``: do grades, citations and words match?

- **grade-source** (error): a rule graded H cites something other than a guideline or a
  systematic review (H means the source is one of those and supports the claim);
- **traceable** (warning): a reference with no DOI, PMID, URL or ISBN and no stated
  ``no_identifier``, or one not in the structured form at all;
- **claim-acuity** (warning): a rule about a diagnosis whose description names an acuity
  (acute, subacute, chronic) but which tests none.

A rule that gives a modality a benefit a caveat grades X for it never loads (the loader refuses
it, and ``kb lint`` reports it with the other loading problems): an X claim is never a reason.

Each check yields :class:`~medmassage_rules.lint.findings.LintFinding` s. Nothing here prints.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..errors import Problem
from ..kb.rule_specs import Reference, RuleSpec
from .findings import ERROR, WARNING, LintFinding

EVIDENCE_KINDS = ("guideline", "systematic_review")
ACUITY_WORDS = re.compile(r"\b(acute|sub-?acute|chronic)\b", re.IGNORECASE)


def _about(rule: RuleSpec, code: str, message: str) -> Problem:
    return Problem(rule.source, "", code, message, rule=rule.id)


def grade_source(rules: list[RuleSpec], references: dict[str, str],
                 meta: dict[str, Reference]) -> Iterator[LintFinding]:
    for rule in rules:
        if rule.grade != "H" or rule.citation not in references:
            continue
        ref = meta.get(rule.citation)
        if ref is None:
            yield LintFinding(ERROR, _about(rule, "unstructured_citation", f"graded H, but its citation "
                              f"{rule.citation} is not a structured reference, so nothing shows it is a guideline "
                              "or systematic review"), "grade-source")
        elif ref.kind not in EVIDENCE_KINDS:
            yield LintFinding(ERROR, _about(rule, "h_grade_source", f"graded H, but its citation {rule.citation} "
                              f"is a {ref.kind.replace('_', ' ')}: H needs a guideline or systematic review "
                              "(grade it M or L)"), "grade-source")


def traceable(references: dict[str, str], meta: dict[str, Reference]) -> Iterator[LintFinding]:
    for key in references:
        ref = meta.get(key)
        if ref is None:
            yield LintFinding(WARNING, Problem(f"reference {key}", "", "unstructured_reference", "not in the "
                              "structured form (authors, year, title, venue, kind, and a doi, pmid, url or isbn)"),
                              "traceable")
        elif ref.identifier is None and not ref.no_identifier:
            yield LintFinding(WARNING, Problem(f"reference {key}", "", "untraceable", "no doi, pmid, url or isbn: "
                              "give one, or say why there is none with no_identifier"), "traceable")


def _tests_acuity(rule: RuleSpec) -> bool:
    return any(kind == "diagnosis" and isinstance(fields, dict) and ({"acuity", "onset_days"} & set(fields))
               for kind, fields in (*rule.positive, *rule.negative))


def claim_acuity(rules: list[RuleSpec]) -> Iterator[LintFinding]:
    for rule in rules:
        if not any(kind == "diagnosis" for kind, _ in rule.positive) or _tests_acuity(rule):
            continue
        words = sorted({w.lower() for w in ACUITY_WORDS.findall(rule.description)})
        if words:
            yield LintFinding(WARNING, _about(rule, "claim_acuity", f"its description says {' and '.join(words)}, "
                              "but the rule tests no acuity: it fires whatever the acuity (add an acuity condition "
                              "or reword)"), "claim-acuity")


def evidence_problems(rules: list[RuleSpec], references: dict[str, str],
                      meta: dict[str, Reference]) -> list[LintFinding]:
    """Every evidence problem of these rules and references, in a stable order."""
    return [*grade_source(rules, references, meta), *traceable(references, meta), *claim_acuity(rules)]
