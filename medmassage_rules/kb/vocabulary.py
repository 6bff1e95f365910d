"""The controlled vocabulary: every id a case, a rule or a plan may use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RuleDefinitionError
from ..files.reading import parse_yaml, read_text

Pressure = str


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
        """What a clearance object's ``for`` may name: a condition, finding or history id, or blood_pressure."""
        return tuple(dict.fromkeys((*self.conditions, *self.findings, *self.history, "blood_pressure")))

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


_REQUIRED = ("pressures", "sides", "acuities", "severities", "statuses", "modalities",
             "mechanisms", "benefits", "area_groups", "areas", "targets", "endangerment_sites",
             "conditions", "findings", "history", "medication_classes", "medications",
             "referrals", "referral_urgencies", "clearances")


def load_vocabulary(path: Path) -> Vocabulary:
    """Load and check ``vocabulary.yaml``; problems raise RuleDefinitionError."""
    source = str(path)
    try:
        data = parse_yaml(read_text(path, 4 * 1024 * 1024))
    except Exception as exc:  # any parse or read failure of a knowledge-base file
        raise RuleDefinitionError([f"{source}: cannot load vocabulary: {exc}"]) from None
    if not isinstance(data, dict):
        raise RuleDefinitionError([f"{source}: the vocabulary must be a mapping"])
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise RuleDefinitionError([f"{source}: vocabulary lacks {', '.join(missing)}"])
    mappings = ("modalities", "mechanisms", "benefits", "areas", "targets", "endangerment_sites", "medications",
                "referrals", "clearances")
    shape = [f"{source}: {key}: a mapping, not {type(data[key]).__name__}" for key in mappings
             if not isinstance(data[key], dict)]
    shape += [f"{source}: {key}: a list, not {type(data[key]).__name__}" for key in _REQUIRED
              if key not in mappings and not isinstance(data[key], list)]
    for ident, spec in data["modalities"].items() if isinstance(data["modalities"], dict) else ():
        if not isinstance(spec, dict) or not isinstance(spec.get("pressure"), list) or len(spec["pressure"]) != 2 \
                or "label" not in spec:
            shape.append(f"{source}: modalities.{ident}: a mapping with label and pressure: [lowest, highest]")
    for ident, spec in data["areas"].items() if isinstance(data["areas"], dict) else ():
        if not isinstance(spec, dict) or "group" not in spec:
            shape.append(f"{source}: areas.{ident}: a mapping with group")
    if shape:
        raise RuleDefinitionError(shape)
    problems: list[str] = []
    pressures = tuple(data["pressures"])
    tissues = tuple(data.get("tissues", ("muscle",)))
    modalities: dict[str, Modality] = {}
    for ident, spec in data["modalities"].items():
        low, high = spec["pressure"]
        if low not in pressures or high not in pressures or pressures.index(low) > pressures.index(high):
            problems.append(f"{source}: modalities.{ident}: bad pressure range {spec['pressure']!r}")
        applies_to = tuple(spec.get("applies_to", ()))
        problems += [f"{source}: modalities.{ident}.applies_to: unknown tissue {t!r}"
                     for t in applies_to if t not in tissues]
        modalities[ident] = Modality(ident, spec["label"], low, high, applies_to)
    areas = {a: s["group"] for a, s in data["areas"].items()}
    for ident, area in data["targets"].items():
        if area not in areas:
            problems.append(f"{source}: targets.{ident}: unknown area {area!r}")
    for ident, group in areas.items():
        if group not in data["area_groups"]:
            problems.append(f"{source}: areas.{ident}: unknown area group {group!r}")
    for name, cls in data["medications"].items():
        if cls not in data["medication_classes"]:
            problems.append(f"{source}: medications.{name}: unknown class {cls!r}")
    for section, known in (("target_tissues", data["targets"]), ("area_tissues", areas)):
        for ident, tissue in (data.get(section) or {}).items():
            if ident not in known:
                problems.append(f"{source}: {section}.{ident}: unknown id")
            if tissue not in tissues:
                problems.append(f"{source}: {section}.{ident}: unknown tissue {tissue!r}")
    problems += [f"{source}: axial_areas: unknown area {a!r}" for a in data.get("axial_areas") or () if a not in areas]
    for target, area in (data.get("approach_areas") or {}).items():
        if target not in data["targets"] or area not in areas:
            problems.append(f"{source}: approach_areas.{target}: unknown target or area")
    for section in ("spinal_conditions", "headache_conditions"):
        problems += [f"{source}: {section}: unknown condition {c!r}" for c in data.get(section) or ()
                     if c not in data["conditions"]]
    findings = tuple(data["findings"])
    indicators = tuple(data.get("indicator_findings", findings))
    if problems:
        raise RuleDefinitionError(problems)
    return Vocabulary(
        pressures=pressures,
        sides=tuple(data["sides"]),
        acuities=tuple(data["acuities"]),
        severities=tuple(data["severities"]),
        statuses=tuple(data["statuses"]),
        modalities=modalities,
        mechanisms=dict(data["mechanisms"]),
        benefits=dict(data["benefits"]),
        area_groups=tuple(data["area_groups"]),
        areas=areas,
        targets=dict(data["targets"]),
        endangerment_sites=dict(data["endangerment_sites"]),
        conditions=tuple(data["conditions"]),
        findings=findings,
        indicator_findings=indicators,
        history=tuple(data["history"]),
        medication_classes=tuple(data["medication_classes"]),
        medications=dict(data["medications"]),
        referrals=dict(data["referrals"]),
        referral_urgencies=tuple(data["referral_urgencies"]),
        clearances=dict(data["clearances"]),
        labels=dict(data.get("labels", {})),
        tissues=tissues,
        target_tissues=dict(data.get("target_tissues") or {}),
        area_tissues=dict(data.get("area_tissues") or {}),
        axial_areas=frozenset(data.get("axial_areas") or ()),
        approach_areas=dict(data.get("approach_areas") or {}),
        spinal_conditions=frozenset(data.get("spinal_conditions") or ()),
        headache_conditions=frozenset(data.get("headache_conditions") or ()),
    )
