"""The house shows its flow: stage subpackages, imports only downwards, no circle, small modules.

Read from the import statements of every module (those inside functions too), as an outside
reader would: a lazy import is still an import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

from .conftest import ROOT

PACKAGE = ROOT / "medmassage_rules"
# Bottom to top; a stage may import its own modules and the stages below it. Stages on one
# line stand side by side and do not import each other.
STAGES: tuple[tuple[str, ...], ...] = (
    ("_compat", "errors"),
    ("files",),
    ("kb",),
    ("intake", "engine"),
    ("cases",),
    ("planning",),
    ("explain", "teach", "batch"),
    ("lint",),
    ("render",),
    ("web",),
    ("cli",),
    ("__main__",),
)
LEVEL = {name: level for level, names in enumerate(STAGES) for name in names}
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str, path: Path) -> set[str]:
    """The package's modules that one module imports, at the top or inside a function."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.add(full if full in MODULES else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in MODULES and m != name}


def import_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for name, path in MODULES.items():
        graph.add_node(name)
        graph.add_edges_from((name, other) for other in imported_modules(name, path))
    return graph


def stage(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_there_is_no_import_circle() -> None:
    circles = [sorted(c) for c in nx.strongly_connected_components(import_graph()) if len(c) > 1]
    assert circles == []


def test_every_module_belongs_to_a_stage() -> None:
    assert {stage(name) for name in MODULES if stage(name)} <= set(LEVEL)


def test_at_least_seven_stage_subpackages() -> None:
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert len(packages) >= 7, packages


@pytest.mark.parametrize("name", sorted(n for n in MODULES if stage(n)))
def test_a_module_imports_only_its_own_stage_or_lower_ones(name: str) -> None:
    upward = sorted(other for other in imported_modules(name, MODULES[name])
                    if stage(other) and stage(other) != stage(name) and LEVEL[stage(other)] >= LEVEL[stage(name)])
    assert upward == [], f"{name} imports {upward}"


def test_the_knowledge_base_is_plain_data() -> None:
    """Nothing in kb/ reaches up into the engine, the planner or the explanations."""
    graph = import_graph()
    for name in (n for n in MODULES if stage(n) == "kb"):
        reached = {stage(m) for m in nx.descendants(graph, name)}
        assert reached <= {"", "errors", "_compat", "files", "kb"}, (name, reached)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_module_is_small_enough_to_hold_in_mind(name: str) -> None:
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name}: {lines} lines"
