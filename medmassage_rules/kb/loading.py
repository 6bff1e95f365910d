"""The knowledge base: rule specs loaded from ``rules/`` and checked when loaded.

A rule file holds ``rules:`` (a list of rule specs), and may hold ``references:``
(citation keys with their full text), ``caveats:`` (claims of the seed graded X:
shown only as caveats, never as reasons) and ``lint:`` (``unused_ok``: vocabulary terms
no rule uses on purpose, each with its reason, so ``kb lint`` does not warn of them).
Every problem — an unknown id, a missing field, an operator not in the registry — is a
:class:`~medmassage_rules.errors.Problem` with a stable code, naming the file, the rule and
the place in it: :func:`iter_problems` and :func:`read_knowledge_base` collect them,
:func:`load_knowledge_base` raises them together as one
:class:`~medmassage_rules.errors.RuleDefinitionError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import CaseError, Problem, RuleDefinitionError, huge_numbers, key_text, shown
from ..files.reading import parse_document, read_text
from . import disk_cache
from .knowledge_base import KnowledgeBase, default_rules_dir
from .rule_checks import RuleChecker, pydantic_problems
from .rule_specs import VOCABULARY_FILE, Caveat, ConditionDose, Reference, RuleSpec, contradicted_benefits
from .vocabulary import Vocabulary
from .vocabulary_file import load_vocabulary

RULE_FILE_LIMIT = 16 * 1024 * 1024  # bytes: a rule file is read only if it is a regular file this small
SECTIONS = ("rules", "references", "caveats", "lint", "doses")


def _read(path: Path) -> Any:
    try:
        return parse_document(read_text(path, RULE_FILE_LIMIT), str(path), path.suffix)
    except CaseError as exc:  # one line each: where in the file, and what the parser found there
        raise RuleDefinitionError([Problem(str(path), p.path, p.code, f"cannot load rule file: {p.message}")
                                   for p in exc.problems]) from None
    except Exception as exc:  # any other parse failure of a knowledge-base file
        raise RuleDefinitionError([Problem(str(path), "", "invalid_yaml", f"cannot load rule file: {exc}")]) from None


@dataclass(frozen=True)
class KnowledgeFiles:
    """A knowledge-base folder as read, with every problem found in it.

    ``rules`` holds every rule that parsed, also those with a problem of their own
    (their ids are in ``faulty``), so that ``kb lint`` can go on analysing them.
    """

    root: Path
    vocabulary: Vocabulary
    rules: tuple[RuleSpec, ...]
    references: dict[str, str]
    caveats: tuple[Caveat, ...]
    unused_ok: dict[str, str]
    problems: tuple[Problem, ...]
    faulty: frozenset[str]
    reference_meta: dict[str, Reference] = field(default_factory=dict)
    doses: dict[str, ConditionDose] = field(default_factory=dict)  # condition -> its evidence dose (v2.1 §5.1)


class _Reader:
    """Reads the rule files of one folder, one section at a time, collecting problems."""

    def __init__(self, vocab: Vocabulary):
        self.vocab = vocab
        self.checker = RuleChecker(vocab)
        self.problems: list[Problem] = []
        self.rules: list[RuleSpec] = []
        self.references: dict[str, str] = {}
        self.reference_meta: dict[str, Reference] = {}
        self.caveats: list[Caveat] = []
        self.doses: dict[str, ConditionDose] = {}
        self.unused_ok: dict[str, str] = {}
        self.faulty: set[str] = set()
        self.seen: dict[str, str] = {}

    def file(self, path: Path) -> None:
        try:
            data = _read(path)
        except RuleDefinitionError as exc:
            self.problems += exc.problems
            return
        name = path.name
        if not isinstance(data, dict):
            self.problems.append(Problem(name, "", "not_a_mapping",
                                         "a rule file is a mapping with rules, references, caveats or lint"))
            return
        huge = huge_numbers({k: v for k, v in data.items() if k != "rules"})
        if huge:
            self.problems += [Problem(name, where, "too_large_number", "a number too large", n) for where, n in huge]
            return
        unknown = [key_text(key) for key in data if key not in SECTIONS]
        if unknown:
            self.problems.append(Problem(name, "", "unknown_section",
                                         f"unknown section(s) {', '.join(sorted(unknown))}"))
        if "lint" in data:
            self.lint_section(data["lint"], name)
        self.reference_section(data.get("references") or {}, name)
        sections = {}
        for section in ("rules", "caveats"):
            sections[section] = data.get(section) or []
            if not isinstance(sections[section], list):
                self.problems.append(Problem(name, section, "not_a_list", f"a list of {section}, not "
                                             f"{type(data[section]).__name__}"))
                sections[section] = []
        for i, raw in enumerate(sections["caveats"]):
            try:
                caveat = Caveat.model_validate(raw)
            except ValidationError as exc:
                self.problems += pydantic_problems(exc, name, f"caveat {i}", evidence=True)
                continue
            self.caveats.append(caveat)
        for i, raw in enumerate(sections["rules"]):
            self.rule(raw, i, name)
        self.dose_section(data.get("doses") or [], name)

    def dose_section(self, raw: Any, name: str) -> None:
        """``doses:`` a list of {condition, dose_minutes, citation, note}: one per condition (clinical-v2.1 §5.1)."""
        if not isinstance(raw, list):
            self.problems.append(Problem(name, "doses", "not_a_list", f"a list of doses, not {type(raw).__name__}"))
            return
        for i, item in enumerate(raw):
            try:
                dose = ConditionDose.model_validate(item)
            except ValidationError as exc:
                self.problems += pydantic_problems(exc, name, f"dose {i}")
                continue
            where = f"dose {dose.condition}"
            if dose.condition not in self.vocab.conditions:
                self.problems.append(Problem(name, where, "unknown_id",
                                             f"unknown condition id {shown(dose.condition)}"))
            elif dose.condition in self.doses:
                self.problems.append(Problem(name, where, "duplicate_dose", "a second dose for this condition"))
            else:
                self.doses[dose.condition] = dose

    def lint_section(self, raw: Any, name: str) -> None:
        unused = raw.get("unused_ok") if isinstance(raw, dict) else None
        if not isinstance(raw, dict) or set(raw) - {"unused_ok"} or not isinstance(unused, dict):
            self.problems.append(Problem(name, "lint", "not_a_mapping", "a mapping with unused_ok: {term: reason}"))
            return
        v = self.vocab
        known = set(v.all_ids()) | set(v.medication_classes) | set(v.medications)
        for term, reason in unused.items():
            if term not in known:
                self.problems.append(Problem(name, "lint: unused_ok", "unknown_id", f"unknown id {shown(term)}"))
            elif not isinstance(reason, str) or not reason.strip():
                self.problems.append(Problem(name, f"lint: unused_ok: {term}", "not_text", "give the reason as text"))
            else:
                self.unused_ok[str(term)] = reason

    def reference_section(self, raw_refs: Any, name: str) -> None:
        if not isinstance(raw_refs, dict):
            self.problems.append(Problem(name, "references", "not_a_mapping", "a mapping of citation keys"))
            return
        for key, raw_ref in raw_refs.items():
            where = f"reference {key_text(key)}"
            if isinstance(raw_ref, dict):
                try:
                    ref = Reference.model_validate(raw_ref)
                except ValidationError as exc:
                    self.problems += pydantic_problems(exc, name, where)
                    continue
                self.reference_meta[str(key)] = ref
                self.references[str(key)] = ref.text()
                self.problems += self.population_problems(ref, name, where)
            elif isinstance(raw_ref, str):
                self.references[str(key)] = raw_ref
            else:
                self.problems.append(Problem(name, where, "not_a_reference", "the full text of a source, or a "
                                             "mapping with authors, year, title, venue and kind", raw_ref))

    def population_problems(self, ref: Reference, name: str, where: str) -> list[Problem]:
        """A source's population: its ages in order, and what it excludes known condition or history ids."""
        pop = ref.population
        if pop is None:
            return []
        out = []
        if pop.age_min is not None and pop.age_max is not None and pop.age_min > pop.age_max:
            out.append(Problem(name, f"{where}: population", "bad_population",
                               f"age_min {pop.age_min} is above age_max {pop.age_max}"))
        known = {*self.vocab.conditions, *self.vocab.history}
        out += [Problem(name, f"{where}: population: excludes", "unknown_id",
                        f"unknown condition or history id {shown(x)}") for x in pop.excludes if x not in known]
        return out

    def rule(self, raw: Any, i: int, name: str) -> None:
        rule_id = key_text(raw.get("id", f"#{i}")) if isinstance(raw, dict) else f"#{i}"
        if not isinstance(raw, dict):
            self.problems.append(Problem(name, "", "not_a_mapping", "a rule is a mapping", raw, rule=rule_id))
            return
        huge = huge_numbers(raw)
        if huge:
            self.problems += [Problem(name, where, "too_large_number", "a number too large", n, rule=rule_id)
                              for where, n in huge]
            return
        try:
            rule = RuleSpec.model_validate({**raw, "source": name, "order": len(self.rules)})
        except ValidationError as exc:
            self.problems += pydantic_problems(exc, name, rule=rule_id, evidence=True)
            return
        if rule.id in self.seen:
            self.problems.append(Problem(name, "", "duplicate_rule_id",
                                         f"duplicate rule id (first in {self.seen[rule.id]})", rule=rule.id))
            return
        self.seen[rule.id] = name
        shape = self.checker.shape(rule)
        if shape:  # its patterns cannot be read: nothing can analyse the rule
            self.problems += shape
            return
        own = self.checker.check(rule)
        if own:
            self.faulty.add(rule.id)
        self.problems += own
        self.rules.append(rule)

    def cross_references(self) -> None:
        """Citation keys, caveats' ids, and no X claim as a reason."""
        for rule in self.rules:
            if rule.citation not in self.references:
                self.problems.append(Problem(rule.source, "", "unknown_citation",
                                             f"unknown citation key {shown(rule.citation)}", rule=rule.id))
        for dose in self.doses.values():
            if dose.citation not in self.references:
                self.problems.append(Problem(f"dose {dose.condition}", "", "unknown_citation",
                                             f"unknown citation key {shown(dose.citation)}"))
        v = self.vocab
        for caveat in self.caveats:
            where = f"caveat {caveat.id}"  # caveats are named by id, as the plan's caveats are
            if caveat.citation not in self.references:
                self.problems.append(Problem(where, "", "unknown_citation",
                                             f"unknown citation key {shown(caveat.citation)}"))
            self.problems += [Problem(where, "", "unknown_id", f"unknown benefit id {shown(b)}")
                              for b in caveat.benefits if b not in v.benefits]
            self.problems += [Problem(where, "supported_only_for", "unknown_id", f"unknown modality id {shown(m)}")
                              for m in caveat.supported_only_for or () if m not in v.modalities]
        caveats = tuple(self.caveats)
        for rule in self.rules:  # an X claim is never a reason: no rule may give a modality a benefit graded X for it
            propose = rule.then.propose
            for modality in propose.modalities if propose is not None else ():
                for benefit in sorted(contradicted_benefits(caveats, modality, rule.benefits)):
                    caveat_id = next(c.id for c in caveats if c.contradicts(modality, benefit))
                    self.problems.append(Problem(
                        rule.source, "", "x_claim_as_reason", f"gives {modality} the benefit {benefit}, which "
                        f"caveat {caveat_id} grades X for it: an X claim is never a reason", rule=rule.id))
                    self.faulty.add(rule.id)


def read_knowledge_base(rules_dir: str | Path | None = None) -> KnowledgeFiles:
    """Read and check every file of a knowledge-base folder, collecting the problems.

    Raises RuleDefinitionError only when there is nothing to read: no folder or no usable
    vocabulary.
    """
    root = Path(rules_dir) if rules_dir is not None else default_rules_dir()
    if not (root / VOCABULARY_FILE).is_file():
        raise RuleDefinitionError([Problem(str(root), "", "no_vocabulary",
                                           f"no {VOCABULARY_FILE} (not a knowledge-base folder)")])
    reader = _Reader(load_vocabulary(root / VOCABULARY_FILE))
    for path in sorted(p for p in root.glob("*.y*ml") if p.name != VOCABULARY_FILE):
        reader.file(path)
    reader.cross_references()
    if not reader.rules and not reader.problems:
        reader.problems.append(Problem(str(root), "", "no_rules", "no rules found"))
    return KnowledgeFiles(root, reader.vocab, tuple(reader.rules), reader.references, tuple(reader.caveats),
                          reader.unused_ok, tuple(reader.problems), frozenset(reader.faulty), reader.reference_meta,
                          reader.doses)


def iter_problems(rules_dir: str | Path | None = None) -> Iterator[Problem]:
    """Every problem of a knowledge-base folder, none raised (:func:`load_knowledge_base` raises them)."""
    try:
        files = read_knowledge_base(rules_dir)
    except RuleDefinitionError as exc:  # no folder or no usable vocabulary
        yield from exc.problems
        return
    yield from files.problems


def load_knowledge_base(rules_dir: str | Path | None = None) -> KnowledgeBase:
    """Load and validate every file of a knowledge-base folder; any problem raises.

    A knowledge base loaded before from the same files comes from the user's cache on disk
    (:mod:`~medmassage_rules.kb.disk_cache`); one with problems is never cached.
    """
    root = Path(rules_dir) if rules_dir is not None else default_rules_dir()
    cached = disk_cache.load(root)
    if cached is not None:
        return cached
    kb = _load(root)
    disk_cache.store(root, kb)
    return kb


def _load(rules_dir: Path) -> KnowledgeBase:
    files = read_knowledge_base(rules_dir)
    if files.problems:
        raise RuleDefinitionError(files.problems)
    return KnowledgeBase(files.root, files.vocabulary, files.rules, files.references, files.caveats,
                         files.unused_ok, files.reference_meta, files.doses)
