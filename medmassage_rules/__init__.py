"""medmassage-rules: an explainable expert system for medical massage plans."""

from . import _compat  # noqa: F401  (must run before experta is first imported)

__version__ = "0.1.0"

__all__ = ["__version__", "plan_records"]


def __getattr__(name: str) -> object:
    """``plan_records`` (:mod:`medmassage_rules.batch.records`), imported when first asked for."""
    if name == "plan_records":
        from .batch.records import plan_records
        return plan_records
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
