"""The plan: a plain, frozen data object, and its JSON form (contract §2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..kb.vocabulary import NO_TREATMENT

SCHEMA_VERSION = 2
SITE_APPLICABILITY = "site-applicability"  # the planner's own rule: no target the modality applies to


@dataclass(frozen=True)
class PlannedModality:
    id: str
    pressure: str
    certainty: float
    benefits: tuple[str, ...]
    because: tuple[str, ...]
    requested: bool = False        # the prescription asked for it
    grade: str | None = None       # the best evidence grade of the rules that deliver it
    extrapolated_from: str | None = None  # grade L because the case lies outside this population (v2.1 §6.1)

    def to_dict(self) -> dict[str, Any]:
        out = {"id": self.id, "pressure": self.pressure, "certainty": self.certainty,
               "benefits": list(self.benefits), "because": list(self.because),
               "requested": self.requested, "grade": self.grade}
        if self.extrapolated_from is not None:
            out["extrapolated_from"] = self.extrapolated_from
        return out


@dataclass(frozen=True)
class PlannedTarget:
    id: str
    area: str
    side: str | None
    role: str
    because: tuple[str, ...]
    pressure_cap: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "area": self.area, "side": self.side,
                               "role": self.role, "because": list(self.because)}
        if self.pressure_cap is not None:
            out["pressure_cap"] = self.pressure_cap
        return out


@dataclass(frozen=True)
class BlockedModality:
    id: str
    because: tuple[str, ...]
    reason: str  # "blocked", "priced_out" or "no target it applies to"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "because": list(self.because), "reason": self.reason}


@dataclass(frozen=True)
class BlockedArea:
    id: str
    side: str | None
    because: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "side": self.side, "because": list(self.because)}


@dataclass(frozen=True)
class Work:
    """One delivered (target, modality) pair at its own pressure (clinical-v2 §1)."""

    target: str
    side: str | None
    modality: str
    pressure: str

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "side": self.side, "modality": self.modality, "pressure": self.pressure}


@dataclass(frozen=True)
class Segment:
    minutes: int
    group: str
    targets: tuple[str, ...]
    modalities: tuple[str, ...]
    work: tuple[Work, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"minutes": self.minutes, "group": self.group, "targets": list(self.targets),
                "modalities": list(self.modalities), "work": [w.to_dict() for w in self.work]}


@dataclass(frozen=True)
class AreaCap:
    """A pressure cap in force on one area (and side)."""

    area: str
    side: str | None
    pressure: str
    because: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"area": self.area, "side": self.side, "pressure": self.pressure, "because": list(self.because)}


@dataclass(frozen=True)
class TargetCap:
    """A pressure cap in force on one target (and side), not its whole area (clinical-v2.1 §4.2)."""

    target: str
    side: str | None
    pressure: str
    because: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "side": self.side, "pressure": self.pressure, "because": list(self.because)}


@dataclass(frozen=True)
class PlannedReferral:
    to: str
    urgency: str
    because: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"to": self.to, "urgency": self.urgency, "because": list(self.because)}


@dataclass(frozen=True)
class Plan:
    case_id: str
    status: str
    status_because: tuple[str, ...]
    modalities: tuple[PlannedModality, ...]
    targets: tuple[PlannedTarget, ...]
    blocked_modalities: tuple[BlockedModality, ...]
    blocked_areas: tuple[BlockedArea, ...]
    pressure_cap: str
    pressure_cap_because: tuple[str, ...]
    total_minutes: int
    minutes_ceiling: int
    segments: tuple[Segment, ...]
    clearances_required: tuple[str, ...]
    referrals: tuple[PlannedReferral, ...]
    advisories: tuple[str, ...]
    caps: tuple[AreaCap | TargetCap, ...] = ()     # area caps, then target caps
    not_covered: tuple[tuple[str, str], ...] = ()      # (ICD-10-CM code, description)
    unrecognised_medications: tuple[str, ...] = ()
    advisory_kinds: tuple[str, ...] = ()   # the kind of each advisory, in order (clinical-v2.1 §7)
    blocked_targets: tuple[BlockedArea, ...] = ()   # single targets blocked (id is a target)

    @property
    def treats(self) -> bool:
        return self.status not in NO_TREATMENT

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "case_id": self.case_id,
            "status": self.status,
            "status_because": list(self.status_because),
            "modalities": [m.to_dict() for m in self.modalities],
            "targets": [t.to_dict() for t in self.targets],
            "blocked": {"modalities": [b.to_dict() for b in self.blocked_modalities],
                        "areas": [b.to_dict() for b in self.blocked_areas],
                        "targets": [b.to_dict() for b in self.blocked_targets]},
            "pressure_cap": self.pressure_cap,
            "pressure_cap_because": list(self.pressure_cap_because),
            "caps": [c.to_dict() for c in self.caps],
            "session": {"total_minutes": self.total_minutes, "ceiling_minutes": self.minutes_ceiling,
                        "segments": [s.to_dict() for s in self.segments]},
            "clearances_required": list(self.clearances_required),
            "referrals": [r.to_dict() for r in self.referrals],
            "advisories": list(self.advisories),
            "advisory_kinds": list(self.advisory_kinds),
            "not_covered": [{"icd10": code, "description": text} for code, text in self.not_covered],
            "unrecognised_medications": list(self.unrecognised_medications),
        }
