"""Helpers shared by the command-line tests: run the CLI in-process or as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from click.testing import CliRunner, Result

from medmassage_rules.cli import main

from .conftest import FACTS, ROOT

EXIT_INVALID = 2
SINGLE_CASE_FILES = sorted(p for p in FACTS.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
JSON_LINES_FILES = sorted(FACTS.glob("*.jsonl"))


def ctrl_c_as_at_a_terminal() -> None:
    """For ``preexec_fn``: a child that is sent SIGINT takes it as Ctrl-C, even when the test run
    itself was started in the background (a shell starts background jobs with SIGINT ignored, and
    a process keeps an ignored SIGINT ignored, as it should)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def invoke(*args: str | Path) -> Result:
    """Run ``medmassage ARGS`` in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(main, [str(a) for a in args])


def run_checkout_cli(args: Sequence[str | Path], env: dict[str, str] | None = None,
                     timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python cli.py ARGS`` from the checkout as a separate process."""
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], cwd=ROOT,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def assert_refused(exit_code: int, stdout: str, stderr: str, source: str | Path) -> list[str]:
    """Exit code 2, nothing on stdout, every stderr line ``error: SOURCE: ...``, no traceback."""
    lines = error_lines(stderr)
    assert exit_code == EXIT_INVALID, (exit_code, stdout, stderr)
    assert stdout == ""
    assert "Traceback" not in stderr
    assert lines, "an invalid input must say what is wrong"
    prefix = f"error: {source}: "
    for line in lines:
        assert line.startswith(prefix), line
    return lines


# -- the plan JSON of contract §2 ---------------------------------------------------------------
PLAN_KEYS = {"schema_version", "case_id", "status", "modalities", "targets", "blocked", "pressure_cap", "caps",
             "not_covered", "unrecognised_medications",
             "session", "clearances_required", "referrals", "advisories"}
MODALITY_KEYS = {"id", "pressure", "certainty", "benefits", "because", "requested", "grade"}
TARGET_KEYS = {"id", "area", "side", "because"}
SEGMENT_KEYS = {"minutes", "group", "targets", "modalities", "work"}
WORK_KEYS = {"target", "side", "modality", "pressure"}
REFERRAL_KEYS = {"to", "urgency", "because"}


def _has(item: dict, keys: set[str], where: str) -> None:
    missing = keys - set(item)
    assert not missing, f"{where} lacks {sorted(missing)}"


def assert_plan_shape(plan: dict, vocab) -> None:
    """Every key of contract §2 is there, with values of the kinds it names."""
    _has(plan, PLAN_KEYS, "plan")
    assert plan["schema_version"] == 2
    assert isinstance(plan["case_id"], str)
    assert plan["status"] in vocab.statuses
    assert plan["pressure_cap"] in vocab.pressures
    for m in plan["modalities"]:
        _has(m, MODALITY_KEYS, "modality")
        assert m["id"] in vocab.modalities and m["pressure"] in vocab.pressures
        assert isinstance(m["certainty"], float) and 0 < m["certainty"] <= 1
        assert set(m["benefits"]) <= set(vocab.benefits)
        assert m["because"] and all(isinstance(r, str) for r in m["because"])
    for t in plan["targets"]:
        _has(t, TARGET_KEYS, "target")
        assert vocab.is_site(t["id"]) and t["area"] == vocab.area_of(t["id"])
        assert t["side"] in (None, *vocab.sides)
        assert t["because"]
    _has(plan["blocked"], {"modalities", "areas"}, "blocked")
    for b in plan["blocked"]["modalities"]:
        _has(b, {"id", "because"}, "blocked modality")
        assert b["id"] in vocab.modalities and b["because"]
    for b in plan["blocked"]["areas"]:
        _has(b, {"id", "side", "because"}, "blocked area")
        assert b["id"] in vocab.areas and b["side"] in (None, *vocab.sides) and b["because"]
    _has(plan["session"], {"total_minutes", "segments"}, "session")
    assert isinstance(plan["session"]["total_minutes"], int)
    for s in plan["session"]["segments"]:
        _has(s, SEGMENT_KEYS, "segment")
        assert s["group"] in vocab.area_groups and isinstance(s["minutes"], int)
        for w in s["work"]:
            _has(w, WORK_KEYS, "work")
            assert w["modality"] in vocab.modalities and w["pressure"] in vocab.pressures
    for c in plan["caps"]:  # an area cap, or a target cap (case-format §6)
        assert (c["area"] in vocab.areas if "area" in c else vocab.is_site(c["target"]))
        assert c["side"] in (None, *vocab.sides) and c["because"]
        assert c["pressure"] in vocab.pressures
    assert set(plan["clearances_required"]) <= set(vocab.clearances)
    for r in plan["referrals"]:
        _has(r, REFERRAL_KEYS, "referral")
        assert r["to"] in vocab.referrals and r["urgency"] in ("routine", "urgent") and r["because"]
    assert all(isinstance(a, str) for a in plan["advisories"])


# -- knowledge-base fixtures ---------------------------------------------------------------------------
# One rule spec as a rule file writes it, for tests that add rules to a copy of the knowledge base.
RULE = """
  - id: {id}
    description: {description}
    benefits: [{benefits}]
    grade: {grade}
    citation: {citation}
    when: {when}
    then: {then}
"""
