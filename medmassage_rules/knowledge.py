"""The knowledge base: rule specs loaded from ``rules/`` and checked when loaded.

A rule file holds ``rules:`` (a list of rule specs), and may hold ``references:``
(citation keys with their full text), ``caveats:`` (claims of the seed graded X:
shown only as caveats, never as reasons) and ``lint:`` (``unused_ok``: vocabulary terms
no rule uses on purpose, each with its reason, so ``kb lint`` does not warn of them).
Every problem — an unknown id, a missing field, an operator not in the registry — is
collected and raised as one :class:`~medmassage_rules.errors.RuleDefinitionError` naming
the file and rule id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import RuleDefinitionError
from .facts import BOOLEAN_FIELDS, DOMAINS, FIELDS, INPUT_KINDS, NUMERIC_FIELDS
from .loaders import parse_yaml, read_text
from .operators import LIST_OPERATORS, MODIFIERS, NUMERIC_OPERATORS, OPERATORS
from .vocabulary import Vocabulary, load_vocabulary

VOCABULARY_FILE = "vocabulary.yaml"
GRADES = ("H", "M", "L", "X")
LINES = ("first", "second", "request")
DEFAULT_CERTAINTY = {"first": 0.8, "second": 0.6, "request": 0.5}
Role = Literal["primary", "secondary", "finding"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteRef(_Spec):
    """Where an action applies: fixed areas/targets, or the site of a matched fact."""

    ids: tuple[str, ...] = ()
    site_from: int | None = None       # index of the positive pattern whose site is used
    side_from: tuple[int, ...] = (0,)  # patterns whose side is used, first one given wins
    whole_group: bool = False          # widen each area to every area of its group


class TargetsAction(SiteRef):
    role: Role
    # the targets' side: by default that of side_from; ``opposite`` is the other side of side_from
    # (none when that side is bilateral or not given); left, right or bilateral fix it
    side: Literal["opposite", "left", "right", "bilateral"] | None = None


class ClearanceGate(_Spec):
    """``unless_clearance`` as a mapping: lifted only by a clearance object given ``for`` that id."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str                            # a clearance id, or ``any``: whatever clearance was given for it
    scope: str = Field(alias="for")


class RestrictAction(SiteRef):
    """On these areas only the listed modalities may be delivered (none when the list is empty)."""

    modalities: tuple[str, ...] = ()


class ProposeAction(_Spec):
    modalities: tuple[str, ...] = ()
    modality_from: int | None = None   # take the modality id from a matched request
    line: Literal["first", "second", "request"]
    certainty: Annotated[float, Field(gt=0, le=1)] | None = None
    pressure: str | None = None        # delivered at most at this pressure (not a cap)


class BlockAllAction(_Spec):
    status: str


class BlockModalitiesAction(_Spec):
    modalities: tuple[str, ...] = ()
    modality_from: int | None = None


class CapAction(SiteRef):
    pressure: str
    everywhere: bool = False           # the whole body, whatever the sites


class ReferralAction(_Spec):
    to: str
    urgency: Literal["routine", "urgent"]


class Actions(_Spec):
    mechanisms: tuple[str, ...] = ()
    targets: tuple[TargetsAction, ...] = ()
    propose: ProposeAction | None = None
    block_all: BlockAllAction | None = None
    block_modalities: BlockModalitiesAction | None = None
    block_areas: SiteRef | None = None
    cap: CapAction | None = None
    require: str | tuple[str, ...] | None = None   # a list: any one of them satisfies it
    restrict_modalities: RestrictAction | None = None
    drainage_zone: SiteRef | None = None
    referral: ReferralAction | None = None
    advisory: str | None = None
    limit_minutes: Annotated[int, Field(ge=15, le=120)] | None = None


class RuleSpec(_Spec):
    """One rule of the knowledge base, as written in a rule file."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    description: Annotated[str, Field(min_length=1)]
    benefits: tuple[str, ...]
    grade: Literal["H", "M", "L", "X"]
    citation: Annotated[str, Field(min_length=1)]
    salience: int = 0
    when: Annotated[tuple[dict[str, Any], ...], Field(min_length=1)]
    unless_clearance: str | ClearanceGate | None = None
    then: Actions
    source: str = ""
    order: int = 0

    @property
    def positive(self) -> tuple[tuple[str, dict[str, Any]], ...]:
        """The positive patterns as (kind, fields), in order: the ones ``*_from`` index."""
        return tuple(next(iter(p.items())) for p in self.when if "not" not in p)

    @property
    def negative(self) -> tuple[tuple[str, dict[str, Any]], ...]:
        return tuple(next(iter(p["not"].items())) for p in self.when if "not" in p)

    @property
    def required(self) -> tuple[str, ...]:
        """The clearances of ``require``, any one of which satisfies it."""
        r = self.then.require
        return () if r is None else (r,) if isinstance(r, str) else tuple(r)

    @property
    def scoped_gate(self) -> ClearanceGate | None:
        """``unless_clearance`` given as a mapping: only a clearance given for that id lifts the rule."""
        return self.unless_clearance if isinstance(self.unless_clearance, ClearanceGate) else None

    @property
    def subject(self) -> str | None:
        """What a clearance object's ``for`` names to lift a bare ``unless_clearance`` or ``require``:
        the id the first positive pattern tests (condition, finding, item or class), when it is one literal."""
        if not self.positive:
            return None
        kind, fields = self.positive[0]
        for name in ("condition", "finding", "item", "class", "name"):
            cond = (fields or {}).get(name)
            if isinstance(cond, str):
                return cond
            if isinstance(cond, dict) and isinstance(cond.get("eq"), str):
                return str(cond["eq"])
        if kind == "vitals" and {"systolic", "diastolic"} & set(fields or {}):
            return "blood_pressure"
        return None

    @property
    def clearance_gates(self) -> tuple[str, ...]:
        """Clearance ids whose presence keeps this rule from firing (``any`` is not listed: it names none)."""
        gate = self.unless_clearance
        gates = [gate.id if isinstance(gate, ClearanceGate) else gate, *self.required]
        return tuple(dict.fromkeys(g for g in gates if g and g != "any"))

    @property
    def certainty(self) -> float | None:
        propose = self.then.propose
        if propose is None:
            return None
        return propose.certainty if propose.certainty is not None else DEFAULT_CERTAINTY[propose.line]


REFERENCE_KINDS = ("guideline", "systematic_review", "rct", "cohort", "case_series", "textbook",
                   "expert_opinion", "exam_outline", "contract")


class Reference(_Spec):
    """A traceable source: who, when, what, where, and an identifier (DOI, PMID or URL)."""

    authors: Annotated[str, Field(min_length=1)]
    year: Annotated[int, Field(ge=1900, le=2100)]
    title: Annotated[str, Field(min_length=1)]
    venue: Annotated[str, Field(min_length=1)]
    kind: Literal["guideline", "systematic_review", "rct", "cohort", "case_series", "textbook",
                  "expert_opinion", "exam_outline", "contract"]
    doi: str | None = None
    pmid: str | None = None
    url: str | None = None
    isbn: str | None = None
    no_identifier: str | None = None   # why a source has no DOI, PMID or URL
    note: str | None = None            # what the source found, for the evidence table

    @property
    def identifier(self) -> str | None:
        if self.doi:
            return f"doi:{self.doi}"
        if self.pmid:
            return f"PMID {self.pmid}"
        return self.url or (f"ISBN {self.isbn}" if self.isbn else None)

    def text(self) -> str:
        ident = self.identifier
        return f"{self.authors} ({self.year}). {self.title}. {self.venue}." + (f" {ident}" if ident else "")


class Caveat(_Spec):
    """A claim of the seed that evidence contradicts (grade X): shown only as a caveat."""

    id: str
    claim: str
    grade: Literal["X"]
    citation: str
    benefits: tuple[str, ...]          # shown when a recommended modality serves one of these
    text: str
    # When given, the benefits themselves are graded X for every modality but these (e.g.
    # improved circulation holds only as lymph transport by manual lymphatic drainage): no
    # other modality may serve them as a reason. When absent, the claim sits beside the benefit.
    supported_only_for: tuple[str, ...] | None = None

    def contradicts(self, modality: str, benefit: str) -> bool:
        """Whether serving ``benefit`` by ``modality`` is this contradicted claim (never a reason)."""
        return (self.supported_only_for is not None and benefit in self.benefits
                and modality not in self.supported_only_for)


def contradicted_benefits(caveats: tuple[Caveat, ...] | list[Caveat], modality: str,
                          benefits: tuple[str, ...] | list[str]) -> set[str]:
    """The benefits that a caveat grades X for this modality: never a reason to give it."""
    return {b for b in benefits for c in caveats if c.contradicts(modality, b)}


@dataclass(frozen=True)
class KnowledgeBase:
    """A validated knowledge base: vocabulary, rules in load order, references, caveats."""

    root: Path
    vocabulary: Vocabulary
    rules: tuple[RuleSpec, ...]
    references: dict[str, str]
    caveats: tuple[Caveat, ...]
    unused_ok: dict[str, str] = field(default_factory=dict)  # term -> why no rule uses it
    reference_meta: dict[str, Reference] = field(default_factory=dict)  # key -> the structured source

    @cached_property
    def rule_order(self) -> dict[str, int]:
        """Each rule's place in the knowledge base: explanations and plans list rules in it."""
        return {rule.id: rule.order for rule in self.rules}

    @cached_property
    def exclusion_rules(self) -> frozenset[str]:
        """The rules that turn a prescription's exclusion into a block (not a contraindication)."""
        return frozenset(rule.id for rule in self.rules if rule.positive and rule.positive[0][0] == "exclusion")

    @cached_property
    def by_id(self) -> dict[str, RuleSpec]:
        """Every rule by id: the knowledge base's own and the planner's (see PLANNER_RULES)."""
        return {**{rule.id: rule for rule in PLANNER_RULES}, **{rule.id: rule for rule in self.rules}}

    @cached_property
    def engine_class(self) -> type:
        from .engine import compile_engine  # the engine is built once per knowledge base
        return compile_engine(self)

    @cached_property
    def graph(self) -> Any:
        """The knowledge graph (networkx), built on first use: only explanations need it."""
        from .graph import build_knowledge_graph
        return build_knowledge_graph(self.vocabulary, self.rules, self.references, self.caveats)

    def citation_text(self, key: str) -> str:
        return self.references.get(key, key)


# Rules the planner applies itself, after the engine has run: they are named in a plan's
# `because` like any rule, so explanations and renderers look them up here.
PLANNER_RULES: tuple[RuleSpec, ...] = (
    RuleSpec(id="site-applicability",
             description="A modality is delivered only on tissue it applies to (muscle, fascia, tendon or ligament, "
                         "lymph node, viscus), requests included; one that applies to none of its candidate targets "
                         "is blocked",
             benefits=(), grade="L", citation="P1", when=({"request": {}},),
             then=Actions(advisory="a modality is delivered only on tissue it applies to"),
             source="planner", order=1 << 20),
)


def default_rules_dir() -> Path:
    """The shipped knowledge base: inside the installed package, or beside it in a checkout."""
    packaged = Path(str(resources.files("medmassage_rules"))) / "rules"
    if (packaged / VOCABULARY_FILE).is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "rules"


def _pydantic_problems(exc: ValidationError, where: str) -> list[str]:
    out = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(p) for p in err["loc"])
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        out.append(f"{where}: {path}: {msg}")
    return out


class _Checker:
    """Semantic checks of one rule against the vocabulary and the registries."""

    def __init__(self, vocab: Vocabulary):
        self.vocab = vocab
        self.sites = {**vocab.targets, **vocab.areas}

    def domain(self, name: str) -> Any:
        if name == "sites":
            return self.sites
        return getattr(self.vocab, name)

    def check(self, rule: RuleSpec, where: str) -> list[str]:
        problems: list[str] = []
        add = problems.append
        v = self.vocab
        for benefit in rule.benefits:
            if benefit not in v.benefits:
                add(f"{where}: benefits: unknown benefit id {benefit!r}")
        if rule.then.propose is not None and rule.then.propose.line != "request" and not rule.benefits:
            add(f"{where}: a rule that proposes a modality must name the benefit(s) it serves")
        for i, pattern in enumerate(rule.when):
            problems += self._pattern(pattern, f"{where}: when[{i}]")
        n_pos = len(rule.positive)
        problems += self._actions(rule, where, n_pos)
        for gate in rule.clearance_gates:
            if gate not in v.clearances:
                add(f"{where}: unknown clearance id {gate!r}")
        scoped = rule.scoped_gate
        if scoped is not None and scoped.scope not in v.clearance_scopes:
            add(f"{where}: unless_clearance.for: unknown id {scoped.scope!r} (a condition, finding, "
                "history item or blood_pressure)")
        if rule.grade == "X":
            add(f"{where}: a rule graded X cannot be a reason; write it as a caveat instead")
        return problems

    def _pattern(self, pattern: dict[str, Any], where: str) -> list[str]:
        if len(pattern) != 1:
            return [f"{where}: a pattern is one mapping {{kind: {{field: condition}}}}"]
        kind, fields = next(iter(pattern.items()))
        if kind == "not":
            if not isinstance(fields, dict) or len(fields) != 1:
                return [f"{where}: not: takes one pattern"]
            kind, fields = next(iter(fields.items()))
        if kind not in INPUT_KINDS:
            return [f"{where}: unknown fact kind {kind!r} (known: {', '.join(INPUT_KINDS)})"]
        if fields is None:
            fields = {}
        if not isinstance(fields, dict):
            return [f"{where}: {kind}: fields must be a mapping"]
        problems = []
        for name, cond in fields.items():
            if name not in FIELDS[kind]:
                problems.append(f"{where}: {kind}.{name}: unknown field")
                continue
            problems += self._condition(kind, name, cond, f"{where}: {kind}.{name}")
        return problems

    def _condition(self, kind: str, name: str, cond: Any, where: str) -> list[str]:
        values: list[Any] = []
        problems = []
        if isinstance(cond, dict):
            for op, arg in cond.items():
                if op in MODIFIERS:
                    if not isinstance(arg, bool):
                        problems.append(f"{where}: {op} takes true or false")
                    continue
                if op not in OPERATORS:
                    problems.append(f"{where}: unknown operator {op!r} (known: {', '.join(OPERATORS)})")
                elif op in LIST_OPERATORS:
                    if not isinstance(arg, list) or not arg:
                        problems.append(f"{where}: {op} takes a non-empty list")
                    else:
                        values += arg
                elif op in NUMERIC_OPERATORS:
                    if name not in NUMERIC_FIELDS or isinstance(arg, bool) or not isinstance(arg, (int, float)):
                        problems.append(f"{where}: {op} needs a numeric field and a number")
                elif op == "present":
                    if not isinstance(arg, bool):
                        problems.append(f"{where}: present takes true or false")
                else:
                    values.append(arg)
        elif isinstance(cond, list):
            problems.append(f"{where}: a list of values needs the operator 'in'")
        else:
            values.append(cond)
        if name in BOOLEAN_FIELDS:
            problems += [f"{where}: expects true or false, not {x!r}" for x in values if not isinstance(x, bool)]
        domain = DOMAINS.get(name)
        if kind == "medication" and name == "name":
            domain = "medications"
        if kind == "clearance" and name == "name":
            domain = "clearances"
        if domain is not None:
            known = self.domain(domain)
            problems += [f"{where}: unknown id {x!r}" for x in values if x not in known]
        return problems

    def _actions(self, rule: RuleSpec, where: str, n_pos: int) -> list[str]:
        v = self.vocab
        t = rule.then
        problems: list[str] = []
        add = problems.append

        def index_ok(index: int | None, label: str) -> None:
            if index is not None and not 0 <= index < n_pos:
                add(f"{where}: {label}: pattern index {index} out of range (rule has {n_pos})")

        def modality_source(index: int | None, label: str) -> None:
            """``*_from`` for a modality must point at a pattern whose facts carry a modality."""
            if index is not None and 0 <= index < n_pos and "modality" not in FIELDS.get(rule.positive[index][0], ()):
                add(f"{where}: {label}: pattern {index} is a {rule.positive[index][0]}, which names no modality "
                    "(use a request or exclusion pattern)")

        def site_ok(ref: SiteRef, label: str) -> None:
            for ident in ref.ids:
                if ident not in self.sites:
                    add(f"{where}: {label}: unknown target or area id {ident!r}")
            index_ok(ref.site_from, f"{label}.site_from")
            for i in ref.side_from:
                index_ok(i, f"{label}.side_from")

        for mech in t.mechanisms:
            if mech not in v.mechanisms:
                add(f"{where}: mechanisms: unknown mechanism id {mech!r}")
        for i, target in enumerate(t.targets):
            site_ok(target, f"targets[{i}]")
            if target.side == "opposite" and not target.side_from:
                add(f"{where}: targets[{i}]: side opposite needs side_from")
            if not target.ids and target.site_from is None:
                add(f"{where}: targets[{i}]: give ids or site_from")
            if target.role == "finding":
                kind, fields = rule.positive[target.site_from or 0] if n_pos else ("", {})
                finding = fields.get("finding") if isinstance(fields, dict) else None
                names = finding.get("in", []) if isinstance(finding, dict) else [finding]
                red = [x for x in names if x not in v.indicator_findings]
                if kind != "finding" or red:
                    add(f"{where}: targets[{i}]: only mechanism-indicator findings add targets")
        if t.propose is not None:
            p = t.propose
            for m in p.modalities:
                if m not in v.modalities:
                    add(f"{where}: propose: unknown modality id {m!r}")
            if not p.modalities and p.modality_from is None:
                add(f"{where}: propose: give modalities or modality_from")
            index_ok(p.modality_from, "propose.modality_from")
            modality_source(p.modality_from, "propose.modality_from")
            if p.pressure is not None and p.pressure not in v.pressures:
                add(f"{where}: propose: unknown pressure {p.pressure!r}")
        if t.block_all is not None:
            if t.block_all.status not in v.statuses or t.block_all.status in ("treat", "treat_with_precautions",
                                                                             "needs_clearance"):
                add(f"{where}: block_all: status must be refer_urgent, refer or defer, "
                    f"not {t.block_all.status!r}")
            elif t.block_all.status.startswith("refer") and t.referral is None:
                add(f"{where}: block_all to {t.block_all.status} needs a referral")
        if t.block_modalities is not None:
            for m in t.block_modalities.modalities:
                if m not in v.modalities:
                    add(f"{where}: block_modalities: unknown modality id {m!r}")
            index_ok(t.block_modalities.modality_from, "block_modalities.modality_from")
            modality_source(t.block_modalities.modality_from, "block_modalities.modality_from")
        if t.block_areas is not None:
            site_ok(t.block_areas, "block_areas")
        if t.cap is not None:
            site_ok(t.cap, "cap")
            if t.cap.pressure not in v.pressures:
                add(f"{where}: cap: unknown pressure {t.cap.pressure!r}")
        if t.restrict_modalities is not None:
            site_ok(t.restrict_modalities, "restrict_modalities")
            for m in t.restrict_modalities.modalities:
                if m not in v.modalities:
                    add(f"{where}: restrict_modalities: unknown modality id {m!r}")
            if not t.restrict_modalities.ids and t.restrict_modalities.site_from is None:
                add(f"{where}: restrict_modalities: give ids or site_from")
        if t.drainage_zone is not None:
            site_ok(t.drainage_zone, "drainage_zone")
            if not t.drainage_zone.ids and t.drainage_zone.site_from is None:
                add(f"{where}: drainage_zone: give ids or site_from")
        if t.referral is not None:
            if t.referral.to not in v.referrals:
                add(f"{where}: referral: unknown referral id {t.referral.to!r}")
        if t.require is not None:
            others = t.model_dump(exclude_defaults=True, exclude={"require", "advisory"})
            if others:
                add(f"{where}: a rule that requires a clearance may hold only require and advisory, "
                    "so that the clearance lifts only the requirement")
        if not t.model_dump(exclude_defaults=True):
            add(f"{where}: then: the rule concludes nothing")
        return problems


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
