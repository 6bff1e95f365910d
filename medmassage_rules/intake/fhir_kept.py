"""The resources of a record a case is built from, kept as they are read, with a bound on their number."""

from __future__ import annotations

from . import fhir_projection
from .fhir_projection import LOINC, OBSERVATION_CODES, Projected


class TooManyResources(ValueError):
    """A record holds more resources the import reads than :data:`.fhir_projection.MAX_KEPT`."""

    def __init__(self, path: str):
        self.path = path
        super().__init__(f"more than {fhir_projection.MAX_KEPT:,} resources the import reads (conditions, medications, "
                         f"measurements, orders); refused")


class Kept:
    """The resources of a record a case is built from, kept as they are read.

    Every resource in record order, but for the two a long record holds by the thousand: of
    the Encounters only the latest start (the default as-of date), of the Observations only
    those of a LOINC code the case reads. The case is the one all of them would give. Past
    MAX_KEPT of them the record is refused (TooManyResources), so memory stays bounded.
    """

    def __init__(self) -> None:
        self.kept: list[Projected] = []
        self.encounter: Projected | None = None

    def add(self, found: Projected) -> None:
        if found.type == "Encounter":
            latest = self.encounter.start if self.encounter is not None else None
            if found.start is not None and (latest is None or found.start > latest):
                self.encounter = found
        elif found.type != "Observation" or found.code is not None and \
                not set(found.code.codes(LOINC)).isdisjoint(OBSERVATION_CODES):
            if len(self.kept) >= fhir_projection.MAX_KEPT:
                raise TooManyResources(found.where)
            self.kept.append(found)

    def resources(self) -> list[Projected]:
        return self.kept + ([self.encounter] if self.encounter is not None else [])
