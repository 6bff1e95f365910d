"""The controlled vocabulary: every id a case, a rule or a plan may use."""

from __future__ import annotations

from dataclasses import dataclass, field

Pressure = str
# The plan statuses of contract §2 whose plans treat nothing (no modalities, no targets, 0 minutes),
# and those among them that always carry a referral.
NO_TREATMENT = ("refer_urgent", "refer", "defer", "needs_clearance")
REFERRING = ("refer_urgent", "refer")


@dataclass(frozen=True)
class Modality:
    id: str
    label: str
    lowest: Pressure
    highest: Pressure
    applies_to: tuple[str, ...] = ()  # the tissues it may be delivered on; empty means every tissue


@dataclass(frozen=True)
class Vocabulary:
    pressures: tuple[str, ...]
    sides: tuple[str, ...]
    acuities: tuple[str, ...]
    severities: tuple[str, ...]
    statuses: tuple[str, ...]
    modalities: dict[str, Modality]
    mechanisms: dict[str, dict[str, str]]
    benefits: dict[str, str]
    area_groups: tuple[str, ...]
    areas: dict[str, str]  # area -> group
    targets: dict[str, str]  # target -> area
    endangerment_sites: dict[str, str]  # site -> area
    conditions: tuple[str, ...]
    findings: tuple[str, ...]
    indicator_findings: tuple[str, ...]
    history: tuple[str, ...]
    medication_classes: tuple[str, ...]
    medications: dict[str, str]  # name -> class
    referrals: dict[str, str]
    referral_urgencies: tuple[str, ...]
    clearances: dict[str, str]
    labels: dict[str, str] = field(default_factory=dict)
    tissues: tuple[str, ...] = ("muscle",)
    target_tissues: dict[str, str] = field(default_factory=dict)  # target -> tissue (default muscle)
    area_tissues: dict[str, str] = field(default_factory=dict)    # whole-area target -> tissue
    axial_areas: frozenset[str] = frozenset()                      # blocks and caps cover both sides
    approach_areas: dict[str, str] = field(default_factory=dict)   # target -> the area it is worked through
    spinal_conditions: frozenset[str] = frozenset()                 # spinal pain conditions (red-flag rows)
    headache_conditions: frozenset[str] = frozenset()               # headache conditions (red-flag rows)
    soft_tissue_injuries: frozenset[str] = frozenset()              # strains, sprains, contusions (clinical-v2.1 §1.6)

    # -- pressures -------------------------------------------------------------------
    def rank(self, pressure: Pressure) -> int:
        return self.pressures.index(pressure)

    def lower(self, a: Pressure, b: Pressure) -> Pressure:
        return a if self.rank(a) <= self.rank(b) else b

    # -- places ----------------------------------------------------------------------
    def area_of(self, site: str) -> str:
        """The area of a target id, or the id itself when it is an area."""
        return self.targets.get(site, site)

    def group_of(self, site: str) -> str:
        return self.areas[self.area_of(site)]

    def is_site(self, value: str) -> bool:
        return value in self.targets or value in self.areas

    def areas_in_group(self, group: str) -> tuple[str, ...]:
        return tuple(a for a, g in self.areas.items() if g == group)

    def tissue_of(self, site: str) -> str:
        """The tissue of a target, or of an area used as a whole-area target (default muscle)."""
        if site in self.areas:
            return self.area_tissues.get(site, "muscle")
        return self.target_tissues.get(site, "muscle")

    def applies(self, modality: str, site: str) -> bool:
        """Whether a modality may be delivered on a target (clinical-v2 §1, site-aware delivery)."""
        tissues = self.modalities[modality].applies_to
        return not tissues or self.tissue_of(site) in tissues

    @property
    def clearance_scopes(self) -> tuple[str, ...]:
        """What a clearance object's ``for`` may name: a condition, finding or history id, blood_pressure or joint."""
        return tuple(dict.fromkeys((*self.conditions, *self.findings, *self.history, "blood_pressure", "joint")))

    def label(self, ident: str) -> str:
        """Plain words for an id."""
        if ident in self.labels:
            return self.labels[ident]
        if ident in self.modalities:
            return self.modalities[ident].label
        if ident in self.benefits:
            return self.benefits[ident]
        if ident in self.mechanisms:
            return self.mechanisms[ident]["label"]
        return ident.replace("_", " ")

    # -- the status order --------------------------------------------------------------
    def severity_rank(self, status: str) -> int:
        """0 for the most severe status."""
        return self.statuses.index(status)

    def most_severe(self, statuses: list[str]) -> str:
        return min(statuses, key=self.severity_rank)

    def all_ids(self) -> dict[str, str]:
        """Every id with its kind, for suggestions and lookups."""
        kinds: dict[str, str] = {}
        for kind, ids in (("status", self.statuses), ("modality", self.modalities),
                          ("mechanism", self.mechanisms), ("benefit", self.benefits),
                          ("area", self.areas), ("target", self.targets),
                          ("condition", self.conditions), ("finding", self.findings),
                          ("history", self.history), ("clearance", self.clearances)):
            for ident in ids:
                kinds.setdefault(ident, kind)
        return kinds
