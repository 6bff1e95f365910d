"""The built wheel carries the knowledge base and works from any folder once installed.

Builds the wheel (pip fetches hatchling from PyPI), checks that the rule files are inside,
installs it into a fresh virtual environment (its dependencies come from PyPI) and runs
the installed ``medmassage`` command from an unrelated folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import FACTS, ROOT

pytestmark = pytest.mark.slow

RULES = ROOT / "rules"


def _run(args: list[str | Path], **kwargs) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env, timeout=900, **kwargs)
    assert proc.returncode == 0, f"{args[:3]} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "--quiet", "-w", out], cwd=ROOT)
    (built,) = out.glob("medmassage_rules-*.whl")
    return built


def test_wheel_holds_the_knowledge_base(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "medmassage_rules/rules/vocabulary.yaml" in names
    rule_files = sorted(p.name for p in RULES.glob("*.yaml"))
    assert len(rule_files) > 1
    for name in rule_files:
        assert f"medmassage_rules/rules/{name}" in names, name
    modules = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "medmassage_rules").rglob("*.py"))
    assert "medmassage_rules/cli/__init__.py" in modules
    for module in modules:  # every stage subpackage, every module
        assert module in names, module
    assert any(n.endswith("entry_points.txt") for n in names)


def test_installed_command_works_from_another_folder(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv])
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    _run([bin_dir / "python", "-m", "pip", "install", "--quiet", wheel])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    case = (FACTS / "p01-cts-mild-right.yaml").resolve()
    proc = _run([bin_dir / "medmassage", "recommend", case], cwd=elsewhere)
    assert "Status" in proc.stdout
    assert "Traceback" not in proc.stderr
    where = _run([bin_dir / "python", "-c", "from medmassage_rules.kb.loading import default_rules_dir; "
                  "print(default_rules_dir())"], cwd=elsewhere)
    assert Path(where.stdout.strip()).is_relative_to(venv), "the knowledge base must come from the installed package"
