"""The measurements of a FHIR record as a case holds them: the latest platelet count, temperature and blood pressure.

- The latest reading is chosen by its full date-time (a date alone: its midnight UTC), and at an
  equal time the more alarming one (the lower platelet count, the higher temperature, the higher
  pressure).
- Systolic and diastolic come from the same reading - the latest time at which either was
  measured (a panel, or separate observations at the same moment): a new systolic is never
  paired with an old diastolic.
- Units are read in the spellings laboratories and devices send (:data:`PLATELET_UNITS`,
  :data:`TEMPERATURE_UNITS`); a unit not understood refuses the record with one line naming the
  entry, its LOINC code and the unit, not a case field.
- Values are kept as given, floored at the second decimal (a unit converted or not): no
  rounding moves a reading across a threshold (19.96 stays below 20, 37.96 below 38).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from ..errors import CaseError, Problem
from .fhir_projection import BP_PANELS, DIASTOLIC, LOINC, PLATELETS, SYSTOLIC, TEMPERATURE, Projected, Quantity
from .fhir_values import label

_MICRO = str.maketrans({"µ": "u", "μ": "u", "³": "3"})
# platelets: thousands per microlitre (= 10^9/L) ...
_THOUSANDS = {"10*3/ul", "10^3/ul", "103/ul", "x10e3/ul", "10e3/ul", "x103/ul", "k/ul", "thou/ul", "thou/mm3",
              "10*3/mm3", "10^3/mm3", "103/mm3", "k/mm3", "10*9/l", "10^9/l", "x10e9/l", "10e9/l", "109/l", "x109/l",
              "g/l", "/nl", "k/cumm", "thou/cumm"}
# ... or per microlitre (divided by 1000)
_SINGLES = {"/ul", "/mm3", "{cells}/ul", "cells/ul", "/cumm", "1/ul"}
PLATELET_UNITS = "10*3/uL, 10^3/uL, 10³/µL, x10E3/uL, K/uL, K/mcL, thou/uL, 10*3/mm3, 10*9/L, /nL; /uL, {cells}/uL"
_CELSIUS = {"cel", "°c", "c", "degc", "deg c", "celsius", "oc"}
_FAHRENHEIT = {"[degf]", "degf", "°f", "f", "deg f", "fahrenheit", "of"}
_KELVIN = {"k", "kelvin"}
TEMPERATURE_UNITS = "Cel, °C, [degF], degF, °F, F, K"
MAX_UNITLESS_PLATELETS = 2000  # a count with no unit above this is not in thousands: the unit must be given
_EPOCH = datetime(1, 1, 1, tzinfo=timezone.utc)


def _unit(raw: str) -> str:
    return " ".join(raw.strip().lower().translate(_MICRO).replace("mcl", "ul").split())


def _floor(value: Decimal) -> float:
    """Floored at the second decimal (never up across a threshold)."""
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_FLOOR))


def _number(value: float) -> float:
    """A value as given, floored at the second decimal (a generated record gives 193.16837247995767)."""
    return _floor(Decimal(repr(value)))


class UnitNotRead(ValueError):
    def __init__(self, what: str, unit: str, known: str):
        super().__init__(f"{what} in a unit not understood ({unit!r}); units read: {known}")
        self.unit = unit


def platelets_k(quantity: Quantity) -> float | None:
    """A platelet count in thousands per microlitre (UnitNotRead for a unit not understood)."""
    if quantity.value is None:
        return None
    unit = _unit(quantity.unit)
    if unit in _THOUSANDS or not unit and quantity.value <= MAX_UNITLESS_PLATELETS:
        return _number(quantity.value)
    if unit in _SINGLES:
        return _floor(Decimal(repr(quantity.value)) / 1000)
    raise UnitNotRead("platelet count", quantity.unit, PLATELET_UNITS)


def celsius(quantity: Quantity) -> float | None:
    """A temperature in °C (UnitNotRead for a unit not understood, or none)."""
    if quantity.value is None:
        return None
    unit, value = _unit(quantity.unit), Decimal(repr(quantity.value))
    if unit in _CELSIUS:
        return _number(quantity.value)
    if unit in _FAHRENHEIT:
        return _floor((value - 32) * 5 / 9)
    if unit in _KELVIN:
        return _floor(value - Decimal("273.15"))
    raise UnitNotRead("body temperature", quantity.unit, TEMPERATURE_UNITS)


def read_observations(observations: list[Projected], as_of: date, source: str = "") -> tuple[dict, dict]:
    """The case's ``labs`` and ``vitals`` from the record's Observations."""
    latest: dict[str, tuple[datetime, float]] = {}
    pressures: dict[datetime, dict[str, float]] = {}

    def note(what: str, when: datetime, value: float | None, alarming: int) -> None:
        if value is None:
            return
        if what not in latest or (when, alarming * value) > (latest[what][0], alarming * latest[what][1]):
            latest[what] = (when, value)

    for obs in observations:
        if obs.status in ("entered-in-error", "cancelled"):
            continue
        if obs.start is None or obs.start > as_of:
            continue
        when = obs.at or datetime(obs.start.year, obs.start.month, obs.start.day, tzinfo=timezone.utc)
        loinc = set(obs.code.codes(LOINC)) if obs.code is not None else set()
        quantity = obs.quantity
        try:
            if loinc & set(PLATELETS) and quantity is not None:
                note("platelets_k", when, platelets_k(quantity), -1)
            if loinc & set(TEMPERATURE) and quantity is not None:
                note("temperature_c", when, celsius(quantity), 1)
        except UnitNotRead as exc:
            code = ", ".join(sorted(loinc & {*PLATELETS, *TEMPERATURE}))
            raise CaseError([Problem(source, f"{obs.where or 'Observation'}.valueQuantity", "unit",
                                     f"Observation (LOINC {code}): {exc}", label(exc.unit))]) from None
        if loinc & set(BP_PANELS) or loinc & {SYSTOLIC, DIASTOLIC}:
            for codes_here, q in [(loinc, quantity)] + [(set(c.codes(LOINC)), q) for c, q in obs.components]:
                if q is None or q.value is None:
                    continue
                reading = pressures.setdefault(when, {})
                for key, code in (("systolic", SYSTOLIC), ("diastolic", DIASTOLIC)):
                    if code in codes_here:
                        reading[key] = max(reading.get(key, q.value), q.value)  # the more alarming at one time
    labs = {"platelets_k": latest["platelets_k"][1]} if "platelets_k" in latest else {}
    vitals: dict[str, Any] = {}
    if "temperature_c" in latest:
        vitals["temperature_c"] = latest["temperature_c"][1]
    if pressures:
        reading = pressures[max(pressures, default=_EPOCH)]
        for key in ("systolic", "diastolic"):
            if key in reading:
                vitals[key] = int(round(reading[key]))
    return labs, vitals
