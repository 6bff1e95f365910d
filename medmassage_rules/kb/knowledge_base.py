"""A validated knowledge base: vocabulary, rules in load order, references and caveats."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from .rule_specs import VOCABULARY_FILE, Actions, Caveat, ConditionDose, Reference, RuleSpec
from .vocabulary import Vocabulary


@dataclass(frozen=True)
class KnowledgeBase:
    """A validated knowledge base: vocabulary, rules in load order, references, caveats."""

    root: Path
    vocabulary: Vocabulary
    rules: tuple[RuleSpec, ...]
    references: dict[str, str]
    caveats: tuple[Caveat, ...]
    unused_ok: dict[str, str] = field(default_factory=dict)  # term -> why no rule uses it
    reference_meta: dict[str, Reference] = field(default_factory=dict)  # key -> the structured source
    doses: dict[str, ConditionDose] = field(default_factory=dict)  # condition -> evidence dose (clinical-v2.1 §5.1)

    @cached_property
    def rule_order(self) -> dict[str, int]:
        """Each rule's place in the knowledge base: explanations and plans list rules in it."""
        return {rule.id: rule.order for rule in self.rules}

    @cached_property
    def exclusion_rules(self) -> frozenset[str]:
        """The rules that turn a prescription's exclusion into a block (not a contraindication)."""
        return frozenset(rule.id for rule in self.rules if rule.positive and rule.positive[0][0] == "exclusion")

    @cached_property
    def by_id(self) -> dict[str, RuleSpec]:
        """Every rule by id: the knowledge base's own and the planner's (see PLANNER_RULES)."""
        return {**{rule.id: rule for rule in PLANNER_RULES}, **{rule.id: rule for rule in self.rules}}

    @cached_property
    def graph(self) -> Any:
        """The knowledge graph (networkx), built on first use: only explanations need it."""
        from .graph import build_knowledge_graph  # networkx is imported only when a graph is needed
        return build_knowledge_graph(self.vocabulary, self.rules, self.references, self.caveats)

    def citation_text(self, key: str) -> str:
        return self.references.get(key, key)


# Rules the planner applies itself, after the engine has run: they are named in a plan's
# `because` like any rule, so explanations and renderers look them up here.
PLANNER_RULES: tuple[RuleSpec, ...] = (
    RuleSpec(id="site-applicability",
             description="A modality is delivered only on tissue it applies to (muscle, fascia, tendon or ligament, "
                         "lymph node, viscus), requests included; one that applies to none of its candidate targets "
                         "is blocked",
             benefits=(), grade="L", citation="P1", when=({"request": {}},),
             then=Actions(advisory="a modality is delivered only on tissue it applies to"),
             source="planner", order=1 << 20),
)


def default_rules_dir() -> Path:
    """The shipped knowledge base: inside the installed package, or beside it in a checkout."""
    packaged = Path(str(resources.files("medmassage_rules"))) / "rules"
    if (packaged / VOCABULARY_FILE).is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "rules"

