"""Explaining a plan: why and why not, the derivation graph and the layered picture of the reasoning."""

from .explainer import explain_blocked, explain_recommended, why, why_not
from .lookup import NotExplainableError

__all__ = ["NotExplainableError", "explain_blocked", "explain_recommended", "why", "why_not"]
