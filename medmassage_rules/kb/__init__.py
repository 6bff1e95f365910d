"""The knowledge base as plain data: vocabulary, fact types, the rule language (condition
operators, pattern matching), rule specs and their checks, loading, words for facts and
conclusions, and the knowledge graph. Nothing here runs the engine."""

from .knowledge_base import KnowledgeBase
from .loading import iter_problems, load_knowledge_base, read_knowledge_base
from .rule_specs import RuleSpec
from .vocabulary import Vocabulary

__all__ = ["KnowledgeBase", "RuleSpec", "Vocabulary", "iter_problems", "load_knowledge_base",
           "read_knowledge_base"]
