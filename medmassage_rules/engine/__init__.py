"""The engine: rule specs compiled into experta rules, a lean Rete matcher, a deterministic traced
agenda, and one engine per knowledge base and process."""

from .agenda import Firing
from .cache import engine_for, engine_for_case
from .compiler import compile_engine

__all__ = ["Firing", "compile_engine", "engine_for", "engine_for_case"]
