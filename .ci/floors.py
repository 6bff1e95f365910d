"""Check the declared dependency floors: install the minimum version of every dependency
pyproject.toml declares (``name>=X`` becomes ``name==X``) in a fresh virtual environment and
run the examples there - every case in facts/ as html (the public ones as markdown too),
every kb graph format, kb lint, schema, explain and a batch. An example that works with the current versions (the
environment running this script) must work with the minimums too.

Usage: python .ci/floors.py   (from the checkout; needs the package index)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def floors() -> list[str]:
    """``name==X`` for every ``name>=X`` (and every exact pin) among the dependencies."""
    text = (ROOT / "pyproject.toml").read_text()  # tomllib is 3.11+; the project supports 3.10
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M)
    if block is None:
        raise SystemExit("floors: no dependencies = [...] in pyproject.toml")
    dependencies = re.findall(r'^\s*"([^"]+)"', block.group(1), re.M)
    pins = []
    for spec in dependencies:
        match = re.match(r"\s*([A-Za-z0-9_.\-\[\]]+)\s*(>=|==)\s*([^,;\s]+)", spec)
        if match is None:
            raise SystemExit(f"floors: no lower bound in the dependency {spec!r}")
        name, _, version = match.groups()
        pins.append(f"{name}=={version}")
    return pins


def examples() -> list[list[str]]:
    cases = sorted((ROOT / "facts").glob("*.yaml"))
    commands = [["recommend", str(c), "--format", "html"] for c in cases]
    commands += [["recommend", str(c), "--format", "markdown"] for c in cases if c.name.startswith("p")]
    commands += [["kb", "graph", "--format", fmt] for fmt in ("graphml", "gexf", "json", "dot")]
    commands += [["kb", "lint"], ["schema"], ["batch", str(ROOT / "facts"), "--jobs", "2"]]
    commands += [["explain", str(cases[0]), "--why-not", "deep_tissue"]] if cases else []
    return commands


def works(python: str, command: list[str]) -> tuple[bool, str]:
    proc = subprocess.run([python, "-m", "medmassage_rules", *command], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    ok = proc.returncode in ((0, 1) if command[0] in ("batch", "kb") else (0,)) and "Traceback" not in proc.stderr
    return ok, (proc.stderr.strip().splitlines() or [""])[-1]


def main() -> int:
    pins = floors()
    print("floors:", " ".join(pins))
    with tempfile.TemporaryDirectory() as tmp:
        env = Path(tmp) / "venv"
        venv.create(env, with_pip=True)
        python = str(env / "bin" / "python")
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text("\n".join(pins) + "\n")
        subprocess.run([python, "-m", "pip", "install", "--quiet", "-c", str(constraints), str(ROOT)], check=True)
        failed = 0
        commands = examples()
        for command in commands:
            ok, last = works(python, command)
            if not ok and works(sys.executable, command)[0]:  # else broken at the current versions too
                failed += 1
                print(f"floors: fails at the minimum versions: medmassage {' '.join(command)}: {last}")
        print(f"floors: {len(commands) - failed} of {len(commands)} examples run at the minimum versions")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
