"""The ``expect`` block of a case (contract §3, §5): what a plan must hold for the case to pass.

An expectation that no plan can meet is invalid input, like an unknown id: a minutes range whose
``min`` exceeds its ``max`` (or the case's own ``prescription.max_minutes``), an empty any-of list
(``status: []``, ``include_any: [[]]``), an id both included and excluded, a target included
inside an excluded area, a code that is not an ICD-10-CM code under ``not_covered``, or a field
the expected status rules out (contract §2: a ``refer``, ``refer_urgent``, ``defer`` or
``needs_clearance`` plan has no modalities, no targets and 0 minutes; a ``refer`` or
``refer_urgent`` plan carries a referral; a ``treat`` plan has no pressure cap below the highest
pressure). Every such problem is reported, each with the code ``impossible_expectation`` and the
path of the field it is about.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from ..intake import codes as icd
from ..kb.vocabulary import NO_TREATMENT, REFERRING, Vocabulary
from .fields import (
    MAX_IDS,
    ClearanceId,
    MedicationName,
    Minutes,
    ModalityId,
    PressureId,
    ReferralId,
    SiteId,
    StatusId,
    StrictModel,
    as_list,
    context_vocabulary,
    icd10_hint,
)

IMPOSSIBLE = "impossible_expectation"
UNCAPPED = ("treat",)  # plans with no pressure cap below the highest pressure

# An any-of list "should have at least 1 item", as pydantic words it; the schema says so too (minItems).
_EMPTY_ANY_OF = "should have at least 1 item: an empty any-of list is met by no plan"


class ModalityExpectation(StrictModel):
    include: Annotated[list[ModalityId], Field(max_length=MAX_IDS)] = []
    include_any: Annotated[list[Annotated[list[ModalityId], Field(max_length=MAX_IDS,
                                                                  json_schema_extra={"minItems": 1})]],
                           Field(max_length=MAX_IDS)] = []
    exclude: Annotated[list[ModalityId], Field(max_length=MAX_IDS)] = []


class TargetExpectation(StrictModel):
    include: Annotated[list[SiteId], Field(max_length=MAX_IDS)] = []
    exclude: Annotated[list[SiteId], Field(max_length=MAX_IDS)] = []
    # v2: no work on that target (or any target in that area) above that pressure
    pressure: Annotated[dict[SiteId, PressureId], Field(max_length=MAX_IDS)] = {}


class ReferralExpectation(StrictModel):
    """v2: a referral to that recipient and/or of that urgency must be present."""

    to: ReferralId | None = None
    urgency: Literal["routine", "urgent"] | None = None


class MinutesExpectation(StrictModel):
    min: Minutes | None = None
    max: Minutes | None = None


class Expectation(StrictModel):
    # the schema shows what a file may hold (one status or a list), not the list it becomes
    status: Annotated[list[StatusId],
                      BeforeValidator(as_list, json_schema_input_type=StatusId | list[StatusId]),
                      Field(max_length=MAX_IDS,
                            json_schema_extra={"minItems": 1,
                                               "description": "a status, or a list meaning any of them"})] | None = None
    modalities: ModalityExpectation | None = None
    targets: TargetExpectation | None = None
    minutes: MinutesExpectation | None = None
    pressure_cap: PressureId | None = None
    clearances_required: Annotated[list[ClearanceId], Field(max_length=MAX_IDS)] = []
    referral: bool | ReferralExpectation | None = None
    # ICD-10-CM codes the plan must list as not covered
    not_covered: Annotated[list[Annotated[str, Field(max_length=16)]], Field(max_length=MAX_IDS)] = []
    # v2.1: medication names the plan must list as unrecognised (not checked)
    unrecognised_medications: Annotated[list[MedicationName], Field(max_length=MAX_IDS)] = []

    @model_validator(mode="after")
    def _possible(self, info: ValidationInfo) -> Expectation:
        found = tuple(contradictions(self, context_vocabulary(info)))
        if found:
            raise impossible(found)
        return self


Contradiction = tuple[tuple[str | int, ...], str, Any]  # (path inside the expect block, message, value)


def contradictions(expect: Expectation, vocab: Vocabulary | None) -> Iterator[Contradiction]:
    """Every part of ``expect`` that no plan can meet, in the order of the fields."""
    if expect.status == []:
        yield ("status",), "should have at least 1 item: an empty list of statuses is met by no plan", []
    if expect.modalities is not None:
        yield from _modalities(expect.modalities)
    if expect.targets is not None and vocab is not None:
        yield from _targets(expect.targets, vocab)
    minutes = expect.minutes
    if minutes is not None and minutes.min is not None and minutes.max is not None and minutes.min > minutes.max:
        yield ("minutes", "min"), f"min {minutes.min} is more than max {minutes.max}: no plan can meet it", minutes.min
    if expect.status:
        yield from _against_status(expect, expect.status, vocab)
    for i, code in enumerate(expect.not_covered):
        if icd.load_index().get(code) is None:
            yield (("not_covered", i), f"not a valid ICD-10-CM code{icd10_hint(code)}: no plan lists it as not covered",
                   code)


def _modalities(m: ModalityExpectation) -> Iterator[Contradiction]:
    for i, group in enumerate(m.include_any):
        if not group:
            yield ("modalities", "include_any", i), _EMPTY_ANY_OF, []
        elif set(group) <= set(m.exclude):
            yield (("modalities", "include_any", i), "every modality of the group is in modalities.exclude: "
                   "no plan can recommend one of them", group)
    for i, modality in enumerate(m.exclude):
        if modality in m.include:
            yield (("modalities", "exclude", i), "also in modalities.include: no plan can both recommend it "
                   "and not", modality)


def _targets(t: TargetExpectation, vocab: Vocabulary) -> Iterator[Contradiction]:
    excluded = set(t.exclude)
    for i, site in enumerate(t.include):
        area = vocab.area_of(site)
        if site not in excluded and area != site and area in excluded:
            yield (("targets", "include", i), f"lies in area {area}, which targets.exclude rules out: "
                   "no plan can both target it and not", site)
    for i, site in enumerate(t.exclude):
        if site in t.include:
            yield ("targets", "exclude", i), "also in targets.include: no plan can both target it and not", site


def _either(statuses: list[str]) -> str:
    return " or ".join(dict.fromkeys(statuses))


def _against_status(expect: Expectation, statuses: list[str], vocab: Vocabulary | None) -> Iterator[Contradiction]:
    """What the expected status rules out (contract §2)."""
    status = _either(statuses)
    if all(s in NO_TREATMENT for s in statuses):
        m, t = expect.modalities, expect.targets
        if m is not None and m.include:
            yield (("modalities", "include"), f"a plan of status {status} recommends no modality: "
                   "no plan can meet both", m.include)
        if m is not None and m.include_any:
            yield (("modalities", "include_any"), f"a plan of status {status} recommends no modality: "
                   "no plan can meet both", m.include_any)
        if t is not None and t.include:
            yield (("targets", "include"), f"a plan of status {status} has no targets: no plan can meet both",
                   t.include)
        if expect.minutes is not None and expect.minutes.min:
            yield (("minutes", "min"), f"a plan of status {status} has 0 minutes: no plan can meet both",
                   expect.minutes.min)
    if all(s in REFERRING for s in statuses) and expect.referral is False:
        yield ("referral",), f"a plan of status {status} carries a referral: no plan can meet both", False
    cap = expect.pressure_cap
    if (all(s in UNCAPPED for s in statuses) and cap is not None and vocab is not None
            and cap in vocab.pressures and vocab.rank(cap) < len(vocab.pressures) - 1):
        yield (("pressure_cap",), f"a plan of status {status} has no pressure cap below "
               f"{vocab.pressures[-1]}: no plan can meet both", cap)


def beyond_prescription(expect: Expectation | None, max_minutes: int | None) -> Iterator[Contradiction]:
    """What the case's own prescription rules out (contract §2: the total never exceeds ``max_minutes``);
    paths from the case's top."""
    if expect is None or expect.minutes is None or max_minutes is None:
        return
    least = expect.minutes.min
    if least is not None and least > max_minutes:
        yield (("expect", "minutes", "min"), f"more than prescription.max_minutes {max_minutes}: no plan can "
               "meet it", least)


def impossible(found: tuple[Contradiction, ...]) -> PydanticCustomError:
    """The validation error of an expect block no plan can meet: one problem per contradiction."""
    return PydanticCustomError(IMPOSSIBLE, "{message}", {"message": found[0][1], "contradictions": found})
