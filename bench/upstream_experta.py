"""experta's own test suite with the project's matcher and strategy swapped in (a script, not a test).

``python bench/upstream_experta.py EXPERTA_CHECKOUT [pytest args...]``

EXPERTA_CHECKOUT is a checkout of https://github.com/nilp0inter/experta at tag v1.9.4 (the
version the project pins). Its ``tests/`` folder is copied into a temporary folder with a
``conftest.py`` that makes every ``KnowledgeEngine`` use
:class:`~medmassage_rules.engine.rete.LeanReteMatcher` and
:class:`~medmassage_rules.engine.agenda.DeterministicStrategy`, then pytest runs there. Nothing
of experta's is kept in this repository; no network is needed once the checkout is there.

Two upstream tests assert that the default strategy class is experta's ``DepthStrategy``;
they fail by construction when another strategy is swapped in.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CONFTEST = '''
import medmassage_rules  # noqa: F401  (experta's pinned frozendict needs the collections aliases first)
from experta import KnowledgeEngine

from medmassage_rules.engine.agenda import DeterministicStrategy
from medmassage_rules.engine.rete import LeanReteMatcher

KnowledgeEngine.__matcher__ = LeanReteMatcher
KnowledgeEngine.__strategy__ = DeterministicStrategy
'''


def main() -> int:
    if len(sys.argv) < 2 or not (Path(sys.argv[1]) / "tests").is_dir():
        print(__doc__)
        return 2
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        shutil.copytree(Path(sys.argv[1]) / "tests", tmp / "tests")
        (tmp / "conftest.py").write_text(CONFTEST, encoding="utf-8")
        (tmp / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        return subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                                "tests", *sys.argv[2:]], cwd=tmp,
                               env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})


if __name__ == "__main__":
    raise SystemExit(main())
