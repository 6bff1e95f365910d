"""Rule specs: the pydantic models of a rule, a reference and a caveat, as read from ``rules/``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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
    # a target cap (clinical-v2.1 §4.2): these targets (an area id: it and every target in it), on the
    # side of side_from only, not their whole area; an axial area's target cap stays one-sided
    targets: tuple[str, ...] = ()


class ReferralAction(_Spec):
    to: str
    urgency: Literal["routine", "urgent"]
    # clinical-v2.1 §5.2: a referral that goes beside a treatment (exercise first): kept only on a plan
    # that treats, and never a reason for its status
    beside_treatment: bool = False


class Actions(_Spec):
    mechanisms: tuple[str, ...] = ()
    targets: tuple[TargetsAction, ...] = ()
    propose: ProposeAction | None = None
    block_all: BlockAllAction | None = None
    block_modalities: BlockModalitiesAction | None = None
    block_areas: SiteRef | None = None
    block_targets: SiteRef | None = None           # ids are targets: no work on them (their area stays free)
    cap: CapAction | None = None
    require: str | tuple[str, ...] | None = None   # a list: any one of them satisfies it
    restrict_modalities: RestrictAction | None = None
    drainage_zone: SiteRef | None = None
    referral: ReferralAction | None = None
    advisory: str | None = None
    # clinical-v2.1 §7: delivery (how to give a session), status (why the plan is what it is,
    # what would allow treatment) or action (do something now); absent: see RuleSpec.advisory_kind
    advisory_kind: Literal["delivery", "status", "action"] | None = None
    # clinical-v2.1 §5.1: a "may under-dose" note, shown only when the plan's minutes are below the evidence dose
    under_dose_note: bool = False
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
    def advisory_kind(self) -> str:
        """The kind of this rule's advisory (clinical-v2.1 §7): as written, else ``status`` for a rule that
        stops treatment, asks for a clearance or refers (it explains the status), else ``delivery``."""
        t = self.then
        if t.advisory_kind is not None:
            return t.advisory_kind
        return "status" if (t.block_all or t.require or t.referral) else "delivery"

    @property
    def certainty(self) -> float | None:
        propose = self.then.propose
        if propose is None:
            return None
        return propose.certainty if propose.certainty is not None else DEFAULT_CERTAINTY[propose.line]


class ConditionDose(_Spec):
    """clinical-v2.1 §5.1: the session length (minutes) of the trials that worked for a chronic condition."""

    condition: str
    dose_minutes: Annotated[int, Field(ge=30, le=60)]
    citation: Annotated[str, Field(min_length=1)]
    note: str | None = None            # what the trial gave, for the evidence table


REFERENCE_KINDS = ("guideline", "systematic_review", "rct", "cohort", "case_series", "textbook",
                   "expert_opinion", "exam_outline", "contract")


class Population(_Spec):
    """Whom a source studied (clinical-v2.1 §6.1): ages in years, both inclusive (absent: no
    bound), the condition or history ids it left out (``excludes: [pregnancy]``), and a note."""

    age_min: Annotated[int, Field(ge=0, le=120)] | None = None
    age_max: Annotated[int, Field(ge=0, le=120)] | None = None
    excludes: tuple[str, ...] = ()
    note: Annotated[str, Field(min_length=1)]

    def outside(self, age: int | None, ids: frozenset[str] | set[str]) -> bool:
        """Whether a case (its age, when known, and its condition and history ids) lies outside."""
        if age is not None and ((self.age_min is not None and age < self.age_min)
                                or (self.age_max is not None and age > self.age_max)):
            return True
        return bool(set(self.excludes) & set(ids))


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
    note: str | None = None            # what the source is cited for, for the evidence table
    population: Population | None = None   # whom it studied (clinical-v2.1 §6.1)
    finding: str | None = None         # what it found, for whom, how strong, in its own terms (§6.2)
    abstract_only: bool = False        # read no further than its abstract or a summary: L at most

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


