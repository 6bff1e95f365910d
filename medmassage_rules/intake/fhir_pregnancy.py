"""Pregnancy from a record's Observations: the US Core pregnancy status (LOINC 82810-3) and the gestational age.

- The latest pregnancy-status reading on or before the as-of date decides: SNOMED CT 77386006
  (pregnant) gives history ``pregnancy``, 60001007 (not pregnant) gives nothing; at an equal
  time "pregnant" wins. A "pregnant" reading more than :data:`MAX_PREGNANT_DAYS` before the
  as-of date is no longer this pregnancy (it has ended, the postpartum weeks too): left out, with a note.
- Its weeks come from the latest gestational age (LOINC 49051-6 in weeks, 11884-4 estimated,
  18185-9) measured on or before the as-of date and after the last "not pregnant" reading
  before that "pregnant" one, counted forward to the as-of date in whole weeks. A value in
  days (``d``) is divided by 7; a value with no unit is read in weeks; another unit, or weeks
  beyond what a pregnancy lasts, gives no weeks, with a note.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from .fhir_projection import GESTATIONAL_AGE, LOINC, PREGNANCY_STATUS, SNOMED, Projected

PREGNANT, NOT_PREGNANT = "77386006", "60001007"
MAX_WEEKS = 45  # the case model's bound on a pregnancy's weeks
MAX_PREGNANT_DAYS = MAX_WEEKS * 7  # a pregnant reading older than this cannot be the pregnancy of the as-of date
_WEEKS = {"", "wk", "wks", "week", "weeks", "{week}", "{weeks}", "w"}
_DAYS = {"d", "day", "days", "{day}", "{days}"}


def _when(obs: Projected) -> datetime:
    start = obs.start or date.min
    return obs.at or datetime(start.year, start.month, start.day, tzinfo=timezone.utc)


def _counted(obs: Projected, as_of: date) -> bool:
    return obs.status not in ("entered-in-error", "cancelled") and obs.start is not None and obs.start <= as_of


def pregnancy_from_observations(observations: list[Projected], as_of: date) -> tuple[dict[str, Any] | None,
                                                                                        list[str]]:
    """The history ``pregnancy`` entry the record's Observations give (or None), and notes for the case file."""
    statuses: list[tuple[datetime, bool, Projected]] = []
    ages: list[tuple[datetime, Projected]] = []
    for obs in observations:
        if obs.code is None or not _counted(obs, as_of):
            continue
        loinc = set(obs.code.codes(LOINC))
        if PREGNANCY_STATUS in loinc and obs.value is not None:
            found = set(obs.value.codes(SNOMED))
            if found & {PREGNANT, NOT_PREGNANT}:
                statuses.append((_when(obs), PREGNANT in found, obs))
        elif loinc & set(GESTATIONAL_AGE) and obs.quantity is not None and obs.quantity.value is not None:
            ages.append((_when(obs), obs))
    if not statuses:
        return None, []
    when, pregnant, reading = max(statuses, key=lambda s: (s[0], s[1]))  # at an equal time, pregnant
    where = reading.where or "Observation"
    if not pregnant:
        return None, []
    if reading.start is not None and (as_of - reading.start).days > MAX_PREGNANT_DAYS:
        return None, [f"{where} (LOINC {PREGNANCY_STATUS}): pregnant on {reading.start.isoformat()}, more than "
                      f"{MAX_WEEKS} weeks before {as_of.isoformat()} - not imported as a pregnancy; "
                      f"add it (or postpartum) to history if it still holds"]
    since = max((w for w, is_pregnant, _ in statuses if not is_pregnant and w < when), default=None)
    entry: dict[str, Any] = {"item": "pregnancy"}
    notes = [f"{where} (LOINC {PREGNANCY_STATUS}): pregnant (SNOMED CT {PREGNANT}) - history pregnancy"]
    current = [(w, obs) for w, obs in ages if since is None or w > since]
    if current:
        measured, age = max(current, key=lambda a: a[0])
        weeks, note = _weeks(age, measured.date() if age.start is None else age.start, as_of)
        if weeks is not None:
            entry["weeks"] = weeks
        if note:
            notes.append(note)
    return entry, notes


def _weeks(age: Projected, measured: date, as_of: date) -> tuple[int | None, str]:
    """The weeks of pregnancy on the as-of date from a gestational age measured earlier, and a note if none."""
    assert age.quantity is not None and age.quantity.value is not None
    code = ", ".join(sorted(set(age.code.codes(LOINC)) & set(GESTATIONAL_AGE))) if age.code is not None else ""
    where = f"{age.where or 'Observation'} (LOINC {code})"
    unit = age.quantity.unit.strip().lower()
    if unit in _WEEKS:
        days = age.quantity.value * 7
    elif unit in _DAYS:
        days = age.quantity.value
    else:
        return None, f"{where}: gestational age in a unit not understood ({age.quantity.unit!r}); no weeks given"
    weeks = int((days + (as_of - measured).days) // 7)
    if not 0 <= weeks <= MAX_WEEKS:
        return None, (f"{where}: gestational age {age.quantity.value:g} {unit or 'wk'} on {measured.isoformat()} "
                      f"gives {weeks} weeks on {as_of.isoformat()}; the case gives no weeks")
    return weeks, ""
