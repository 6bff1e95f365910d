"""medmassage-rules: an explainable expert system for medical massage plans."""

from . import _compat  # noqa: F401  (must run before experta is first imported)

__version__ = "0.1.0"
