"""The knowledge base: rule specs loaded from ``rules/`` and checked when loaded.

A rule file holds ``rules:`` (a list of rule specs), and may hold ``references:``
(citation keys with their full text), ``caveats:`` (claims of the seed graded X:
shown only as caveats, never as reasons) and ``lint:`` (``unused_ok``: vocabulary terms
no rule uses on purpose, each with its reason, so ``kb lint`` does not warn of them).
Every problem — an unknown id, a missing field, an operator not in the registry — is
collected and raised as one :class:`~medmassage_rules.errors.RuleDefinitionError` naming
the file and rule id.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import RuleDefinitionError
from ..files.reading import parse_yaml, read_text
from .knowledge_base import KnowledgeBase, default_rules_dir
from .rule_checks import _Checker, _pydantic_problems
from .rule_specs import VOCABULARY_FILE, Caveat, Reference, RuleSpec, contradicted_benefits
from .vocabulary import Vocabulary, load_vocabulary

RULE_FILE_LIMIT = 16 * 1024 * 1024  # bytes: a rule file is read only if it is a regular file this small


def _read(path: Path) -> Any:
    try:
        return parse_yaml(read_text(path, RULE_FILE_LIMIT))
    except Exception as exc:  # any read or parse failure of a knowledge-base file
        raise RuleDefinitionError([f"{path}: cannot load rule file: {exc}"]) from None


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
    problems: tuple[str, ...]
    faulty: frozenset[str]
    reference_meta: dict[str, Reference] = field(default_factory=dict)


def _lint_section(raw: Any, name: str, vocab: Vocabulary, out: dict[str, str]) -> list[str]:
    unused = raw.get("unused_ok") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or set(raw) - {"unused_ok"} or not isinstance(unused, dict):
        return [f"{name}: lint: a mapping with unused_ok: {{term: reason}}"]
    known = set(vocab.all_ids()) | set(vocab.medication_classes) | set(vocab.medications)
    problems = []
    for term, reason in unused.items():
        if term not in known:
            problems.append(f"{name}: lint: unused_ok: unknown id {term!r}")
        elif not isinstance(reason, str) or not reason.strip():
            problems.append(f"{name}: lint: unused_ok: {term}: give the reason as text")
        else:
            out[str(term)] = reason
    return problems


def read_knowledge_base(rules_dir: str | Path | None = None) -> KnowledgeFiles:
    """Read and check every file of a knowledge-base folder, collecting the problems.

    Raises RuleDefinitionError only when there is nothing to read: no folder or no usable
    vocabulary.
    """
    root = Path(rules_dir) if rules_dir is not None else default_rules_dir()
    if not (root / VOCABULARY_FILE).is_file():
        raise RuleDefinitionError([f"{root}: no {VOCABULARY_FILE} (not a knowledge-base folder)"])
    vocab = load_vocabulary(root / VOCABULARY_FILE)
    checker = _Checker(vocab)
    problems: list[str] = []
    rules: list[RuleSpec] = []
    references: dict[str, str] = {}
    reference_meta: dict[str, Reference] = {}
    caveats: list[Caveat] = []
    unused_ok: dict[str, str] = {}
    faulty: set[str] = set()
    seen: dict[str, str] = {}
    files = sorted(p for p in root.glob("*.y*ml") if p.name != VOCABULARY_FILE)
    for path in files:
        try:
            data = _read(path)
        except RuleDefinitionError as exc:
            problems += exc.problems
            continue
        name = path.name
        if not isinstance(data, dict):
            problems.append(f"{name}: a rule file is a mapping with rules, references, caveats or lint")
            continue
        unknown = set(data) - {"rules", "references", "caveats", "lint"}
        if unknown:
            problems.append(f"{name}: unknown section(s) {', '.join(sorted(unknown))}")
        if "lint" in data:
            problems += _lint_section(data["lint"], name, vocab, unused_ok)
        raw_refs = data.get("references") or {}
        if not isinstance(raw_refs, dict):
            problems.append(f"{name}: references: a mapping of citation keys")
            raw_refs = {}
        for key, raw_ref in raw_refs.items():
            if isinstance(raw_ref, dict):
                try:
                    ref = Reference.model_validate(raw_ref)
                except ValidationError as exc:
                    problems += _pydantic_problems(exc, f"{name}: reference {key}")
                    continue
                reference_meta[str(key)] = ref
                references[str(key)] = ref.text()
            else:
                references[str(key)] = str(raw_ref)
        for section, kind in (("rules", list), ("caveats", list)):
            if not isinstance(data.get(section) or [], kind):
                problems.append(f"{name}: {section}: a list of {section}, not {type(data[section]).__name__}")
                data = {**data, section: []}
        for i, raw in enumerate(data.get("caveats") or []):
            try:
                caveats.append(Caveat.model_validate(raw))
            except ValidationError as exc:
                problems += _pydantic_problems(exc, f"{name}: caveat {i}")
        for i, raw in enumerate(data.get("rules") or []):
            rule_id = raw.get("id", f"#{i}") if isinstance(raw, dict) else f"#{i}"
            where = f"{name}: rule {rule_id}"
            if not isinstance(raw, dict):
                problems.append(f"{where}: a rule is a mapping")
                continue
            try:
                rule = RuleSpec.model_validate({**raw, "source": name, "order": len(rules)})
            except ValidationError as exc:
                problems += _pydantic_problems(exc, where)
                continue
            if rule.id in seen:
                problems.append(f"{where}: duplicate rule id (first in {seen[rule.id]})")
                continue
            seen[rule.id] = name
            own = checker.check(rule, where)
            if own:
                faulty.add(rule.id)
            problems += own
            rules.append(rule)
    for rule in rules:
        if rule.citation not in references:
            problems.append(f"{rule.source}: rule {rule.id}: unknown citation key {rule.citation!r}")
    for caveat in caveats:
        if caveat.citation not in references:
            problems.append(f"caveat {caveat.id}: unknown citation key {caveat.citation!r}")
        problems += [f"caveat {caveat.id}: unknown benefit id {b!r}" for b in caveat.benefits
                     if b not in vocab.benefits]
        problems += [f"caveat {caveat.id}: supported_only_for: unknown modality id {m!r}"
                     for m in caveat.supported_only_for or () if m not in vocab.modalities]
    for rule in rules:  # an X claim is never a reason: no rule may give a modality a benefit graded X for it
        propose = rule.then.propose
        for modality in propose.modalities if propose is not None else ():
            for benefit in sorted(contradicted_benefits(caveats, modality, rule.benefits)):
                caveat_id = next(c.id for c in caveats if c.contradicts(modality, benefit))
                problems.append(f"{rule.source}: rule {rule.id}: gives {modality} the benefit {benefit}, which "
                                f"caveat {caveat_id} grades X for it: an X claim is never a reason")
                faulty.add(rule.id)
    if not rules and not problems:
        problems.append(f"{root}: no rules found")
    return KnowledgeFiles(root, vocab, tuple(rules), references, tuple(caveats), unused_ok,
                          tuple(problems), frozenset(faulty), reference_meta)


def load_knowledge_base(rules_dir: str | Path | None = None) -> KnowledgeBase:
    """Load and validate every file of a knowledge-base folder; any problem raises."""
    files = read_knowledge_base(rules_dir)
    if files.problems:
        raise RuleDefinitionError(files.problems)
    return KnowledgeBase(files.root, files.vocabulary, files.rules, files.references, files.caveats,
                         files.unused_ok, files.reference_meta)
