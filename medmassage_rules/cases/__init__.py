"""Cases: the case file's models (with its ``expect`` block), reading and validating cases, the case schema."""

from __future__ import annotations

from .expect_block import (
    Expectation,
    MinutesExpectation,
    ModalityExpectation,
    ReferralExpectation,
    TargetExpectation,
)
from .fields import BLOOD_PRESSURE, MAX_DAYS, MAX_IDS, InVocabulary
from .loading import LoadedCase, iter_cases, load_case, validate_case
from .models import (
    ACUTE_BY_DEFAULT,
    ACUTE_MAX_DAYS,
    NEEDS_AREA,
    SUBACUTE_MAX_DAYS,
    Case,
    Clearance,
    Diagnosis,
    Finding,
    HistoryItem,
    Labs,
    Medication,
    MedicationEntry,
    Patient,
    Prescription,
    ScopedClearance,
    Vitals,
)
from .schema import case_schema

__all__ = [
    "ACUTE_BY_DEFAULT", "ACUTE_MAX_DAYS", "BLOOD_PRESSURE", "MAX_DAYS", "MAX_IDS", "NEEDS_AREA",
    "SUBACUTE_MAX_DAYS", "Case", "Clearance", "Diagnosis", "Expectation", "Finding", "HistoryItem",
    "InVocabulary", "Labs", "LoadedCase", "Medication", "MedicationEntry", "MinutesExpectation",
    "ModalityExpectation", "Patient", "Prescription", "ReferralExpectation", "ScopedClearance",
    "TargetExpectation", "Vitals", "case_schema", "iter_cases", "load_case", "validate_case",
]
