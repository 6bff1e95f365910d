"""Evidence checks of a knowledge base, for ``kb lint``: do grades, citations and words match?

- **grade-source** (error): a rule graded H cites something other than a guideline or a
  systematic review (H means the source is one of those and supports the claim);
- **traceable** (warning): a reference with no DOI, PMID, URL or ISBN and no stated
  ``no_identifier``, or one not in the structured form at all;
- **claim-acuity** (warning): a rule about a diagnosis whose description names an acuity
  (acute, subacute, chronic) but which tests none;
- **low-source** (error): a rule above L citing a textbook, exam outline, expert opinion or case
  series, or a source read only in its abstract or a summary (clinical-v2.1 §6.2);
- with ``kb lint --evidence`` also **claim-fit** (warning): a rule above L whose condition or
  technique does not appear in its source's finding; and **population** (warning): a structured
  reference with no population or no finding (§6.1).

:func:`evidence_report` lists, per rule, the claim beside its source's population and finding
(``kb lint --evidence``).

A rule that gives a modality a benefit a caveat grades X for it never loads (the loader refuses
it, and ``kb lint`` reports it with the other loading problems): an X claim is never a reason.

Each check yields :class:`~medmassage_rules.lint.findings.LintFinding` s. Nothing here prints.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..errors import Problem
from ..kb.rule_specs import Reference, RuleSpec
from ..kb.vocabulary import Vocabulary
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


LOW_KINDS = ("textbook", "exam_outline", "expert_opinion", "case_series")
# the words by which a finding names a technique (a finding about "massage" covers Swedish massage,
# the general massage of the trials; it does not cover myofascial release or trigger point therapy)
TECHNIQUE_WORDS = {
    "swedish": ("swedish", "massage", "soft tissue", "soft-tissue"),
    "myofascial_release": ("myofascial release", "myofascial therapy"),
    "trigger_point_therapy": ("trigger point", "trigger-point", "ischemic compression"),
    "neuromuscular_therapy": ("neuromuscular", "ischemic compression"),
    "manual_lymphatic_drainage": ("lymphatic drainage", "mld"),
    "deep_tissue": ("deep tissue",),
    "sports_massage": ("sports massage", "massage after strenuous exercise"),
    "abdominal_massage": ("abdominal massage",),
}


def low_source(rules: list[RuleSpec], meta: dict[str, Reference]) -> Iterator[LintFinding]:
    for rule in rules:
        ref = meta.get(rule.citation)
        if ref is None or rule.grade not in ("H", "M"):
            continue
        if ref.kind in LOW_KINDS:
            kind = ref.kind.replace("_", " ")
            yield LintFinding(ERROR, _about(rule, "low_source_above_l", f"graded {rule.grade}, but its citation "
                              f"{rule.citation} is {'an' if kind[0] in 'aeiou' else 'a'} {kind}: grade it L"),
                              "low-source")
        elif ref.abstract_only:
            yield LintFinding(ERROR, _about(rule, "abstract_only_above_l", f"graded {rule.grade}, but its citation "
                              f"{rule.citation} was read only in its abstract or a summary: grade it L"), "low-source")


def conditions_of(rule: RuleSpec) -> tuple[str, ...]:
    """The condition ids a rule's diagnosis patterns name."""
    out: list[str] = []
    for kind, fields in rule.positive:
        cond = (fields or {}).get("condition") if kind == "diagnosis" and isinstance(fields, dict) else None
        if isinstance(cond, dict):
            cond = cond.get("eq") or cond.get("in")
        out += [cond] if isinstance(cond, str) else [c for c in cond or () if isinstance(c, str)]
    return tuple(dict.fromkeys(out))


def _plain(text: str) -> str:
    """Lower case, hyphens and possessives as plain words: "de Quervain's" finds "de quervain"."""
    return re.sub(r"'s\b", "", text.lower().replace("-", " "))


def _named(text: str, words: tuple[str, ...]) -> bool:
    text = _plain(text)
    return any(re.search(rf"\b{re.escape(_plain(w))}", text) for w in words)


def _all_words(text: str, phrase: str) -> bool:
    """Every word of a phrase in the text, in any order ("hip or knee osteoarthritis" names hip osteoarthritis)."""
    found = set(re.findall(r"[a-z0-9]+", _plain(text)))
    return set(re.findall(r"[a-z0-9]+", _plain(phrase))) <= found


def misfits(rule: RuleSpec, ref: Reference, vocabulary: Vocabulary) -> tuple[str, ...]:
    """What a rule claims that its source's finding does not name: its conditions and techniques."""
    finding = (ref.finding or ref.note or "").lower()
    excluded = set(ref.population.excludes) if ref.population is not None else set()
    out = []
    for cond in conditions_of(rule):
        if cond in excluded:  # outside the source's population: counted at L for such a case (§6.1)
            continue
        words = tuple(dict.fromkeys(w.lower() for w in (vocabulary.label(cond), cond.replace("_", " "))))
        if not _named(finding, words) and not any(_all_words(finding, w) for w in words):
            out.append(f"the condition {vocabulary.label(cond).lower()}")
    propose = rule.then.propose
    for mod in propose.modalities if propose is not None else ():
        if not _named(finding, TECHNIQUE_WORDS.get(mod, (mod.replace("_", " "),))):
            out.append(f"the technique {vocabulary.label(mod)}")
    return tuple(out)


def claim_fit(rules: list[RuleSpec], meta: dict[str, Reference], vocabulary: Vocabulary) -> Iterator[LintFinding]:
    for rule in rules:
        ref = meta.get(rule.citation)
        if ref is None or rule.grade not in ("H", "M"):
            continue
        missing = misfits(rule, ref, vocabulary)
        if missing:
            yield LintFinding(WARNING, _about(rule, "claim_beyond_source", f"graded {rule.grade}, but its source "
                              f"{rule.citation}'s finding does not name {' or '.join(missing)}: re-cite or grade it L"),
                              "claim-fit")


def population(meta: dict[str, Reference]) -> Iterator[LintFinding]:
    for key, ref in meta.items():
        gaps = [name for name, value in (("population", ref.population), ("finding", ref.finding)) if value is None]
        if gaps:
            yield LintFinding(WARNING, Problem(f"reference {key}", "", "no_population", f"no {' and no '.join(gaps)}: "
                              "give whom the source studied (population: {age_min, age_max, excludes, note}) "
                              "and what it found"), "population")


def evidence_problems(rules: list[RuleSpec], references: dict[str, str],
                      meta: dict[str, Reference], vocabulary: Vocabulary | None = None) -> list[LintFinding]:
    """Every evidence problem of these rules and references, in a stable order; with a vocabulary
    (``kb lint --evidence``) also the claims beyond their source's finding and the references with
    no population or finding."""
    extra = [*claim_fit(rules, meta, vocabulary), *population(meta)] if vocabulary is not None else []
    return [*grade_source(rules, references, meta), *low_source(rules, meta), *traceable(references, meta),
            *claim_acuity(rules), *extra]


def population_words(ref: Reference | None) -> str:
    """A source's population in words: its note and its bounds."""
    if ref is None or ref.population is None:
        return "population not given"
    pop = ref.population
    ages = ("" if pop.age_min is None and pop.age_max is None else
            f"; ages {pop.age_min if pop.age_min is not None else 0}-"
            f"{pop.age_max if pop.age_max is not None else 'any'}")
    excludes = f"; excludes {', '.join(pop.excludes)}" if pop.excludes else ""
    return pop.note + ages + excludes


def evidence_report(rules: list[RuleSpec], meta: dict[str, Reference], vocabulary: Vocabulary) -> list[str]:
    """Per rule, its claim beside its source's finding, and what does not fit (``kb lint --evidence``)."""
    lines = []
    for rule in rules:
        ref = meta.get(rule.citation)
        kind = ref.kind.replace("_", " ") if ref is not None else "unstructured"
        lines.append(f"{rule.source}: rule {rule.id} [{rule.grade}] claims: {rule.description}")
        lines.append(f"  source {rule.citation} ({kind}; {population_words(ref)}) found: "
                     f"{(ref.finding or ref.note or 'no finding given') if ref is not None else 'no finding given'}")
        flags = []
        if ref is not None and rule.grade in ("H", "M") and ref.kind in LOW_KINDS:
            flags.append(f"a {kind} above L")
        if ref is not None and rule.grade in ("H", "M") and ref.abstract_only:
            flags.append("a source read only in its abstract, above L")
        if rule.grade == "H" and (ref is None or ref.kind not in EVIDENCE_KINDS):
            flags.append("H without a guideline or systematic review")
        if ref is not None and rule.grade in ("H", "M"):
            flags += [f"{m} not in the finding" for m in misfits(rule, ref, vocabulary)]
        if ref is not None and ref.population is None:
            flags.append("the source has no population")
        lines += [f"  flag: {f}" for f in flags]
    return lines
