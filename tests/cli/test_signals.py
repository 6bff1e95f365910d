"""SIGINT, SIGTERM and SIGHUP end a command with 128 + the signal number, keep what is complete,
leave no temporary file and no worker behind (the caller's pipes close)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import ROOT
from ..helpers import ctrl_c_as_at_a_terminal


def _start(args: list[str], **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "medmassage_rules", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=ctrl_c_as_at_a_terminal,
                            **kw)  # type: ignore[call-overload]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_a_waiting_interview_ends_with_the_signal_exit_code(signum: int, code: int) -> None:
    proc = _start(["consult"], stdin=subprocess.PIPE)
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    seen = ""
    while time.monotonic() < deadline and "?" not in seen and ":" not in seen:
        seen += proc.stderr.read(1)  # the first prompt: the interview now waits for an answer
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err and "Aborted!" not in err


def test_a_terminated_batch_stops_its_workers_and_keeps_the_rows_so_far(tmp_path: Path) -> None:
    cases = tmp_path / "c.jsonl"
    cases.write_text("".join(json.dumps({"id": f"c{i}", "diagnoses": [{"condition": "neck_pain"}]}) + "\n"
                             for i in range(4000)))
    report = tmp_path / "r.jsonl"
    proc = _start(["batch", str(cases), "--jobs", "2", "--report", str(report), "--format", "json"])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not any(p.stat().st_size for p in tmp_path.glob(".r.jsonl.*.tmp")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)  # to the parent alone, as a service manager or `timeout` sends it
    out, err = proc.communicate(timeout=60)  # would hang if a worker still held the pipes
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    rows = (tmp_path / "r.jsonl.partial").read_text().splitlines()
    assert 0 < len(rows) < 4000
    assert not report.exists() and not list(tmp_path.glob(".*.tmp"))


def test_workers_die_with_a_parent_killed_outright(tmp_path: Path) -> None:
    """SIGKILL leaves the parent no chance to stop its workers: they notice and end themselves, so the
    caller's pipes close (a `$(...)` or a CI step does not wait forever)."""
    cases = tmp_path / "c.jsonl"
    cases.write_text("".join(json.dumps({"id": f"c{i}", "diagnoses": [{"condition": "neck_pain"}]}) + "\n"
                             for i in range(20000)))
    report = tmp_path / "r.jsonl"
    proc = _start(["batch", str(cases), "--jobs", "2", "--report", str(report)])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not any(p.stat().st_size for p in tmp_path.glob(".r.jsonl.*.tmp")):
        time.sleep(0.05)
    proc.kill()
    proc.wait(10)
    started = time.monotonic()
    proc.communicate(timeout=30)  # EOF on stdout and stderr: no worker holds them any more
    assert time.monotonic() - started < 15
