"""An explanation in words: plain text for the terminal, or Markdown for a handout.

One walk over the :class:`~medmassage_rules.explain.explanation.Explanation`; the two styles differ only
in how a heading, a rule id and an indented line look.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from ..explain.explanation import Certainty, Chain, Combination, Counterfactual, Evidence, Explanation, Step
from ..kb.wording import or_list

QUESTION = {"why": "Why", "why_not": "Why not"}
STOPPED = ("blocked", "priced_out")   # verdicts where a proposing rule is no reason


class _Style:
    """Plain text: indentation and arrows."""

    markdown = False

    def heading(self, text: str) -> str:
        return text

    def section(self, text: str) -> str:
        return text

    def rule(self, rule_id: str) -> str:
        return f"[{rule_id}]"

    def item(self, depth: int, text: str) -> str:
        return "  " * depth + text

    def bullet(self, depth: int, text: str) -> str:
        return "  " * depth + "- " + text


class _Markdown(_Style):
    markdown = True

    def heading(self, text: str) -> str:
        return f"### {text}"

    def section(self, text: str) -> str:
        return f"**{text}**"

    def rule(self, rule_id: str) -> str:
        return f"`{rule_id}`"

    def item(self, depth: int, text: str) -> str:
        """Nested under a numbered chain (3 spaces) or a bullet: a list item either way."""
        return {0: "", 1: "   - ", 2: "     - "}.get(depth, "       - ") + text

    def bullet(self, depth: int, text: str) -> str:
        return "  " * max(depth - 1, 0) + "- " + text


def _evidence(s: _Style, e: Evidence) -> list[str]:
    extrapolated = (f"; extrapolated from {e.extrapolated_from} (cited at {e.cited_grade})"
                    if e.extrapolated_from else "")
    return [f"{s.rule(e.rule_id)} {e.description}",
            f"evidence {e.grade} ({e.grade_words}{extrapolated}): {e.citation} {e.reference}"]


def _certainty(c: Certainty) -> str:
    """A proposal's share of the modality's certainty; the rule's own factor only inside the arithmetic."""
    weight = f" × grade {c.grade} weight {c.weight:.2f}" if c.grade else ""
    return f"its share: rule factor {c.factor:.2f} × premise {c.premise:.2f}{weight} = {c.value:.2f}"


def _step_lines(s: _Style, step: Step, depth: int) -> list[str]:
    lines = [s.bullet(depth, step.concludes)] if step.concludes else []
    inner = depth + 1 if step.concludes else depth
    if step.because:
        lines.append(s.item(inner, f"because {or_list(step.because, 'and')}"))
    lines += [s.item(inner, line) for line in _evidence(s, step.rule)]
    if step.certainty is not None:
        lines.append(s.item(inner, _certainty(step.certainty)))
    return lines


def _chain_lines(s: _Style, number: int, chain: Chain) -> list[str]:
    lines = [s.item(0, f"{number}. {chain.source}")]
    for mech in chain.mechanisms:
        lines.append(s.item(1, f"→ {mech.concludes}"))
        lines += [s.item(2, x) for x in _evidence(s, mech.rule)]
    if chain.benefits:
        lines.append(s.item(1, f"→ serves: {'; '.join(chain.benefits)}"))
    lines.append(s.item(1, f"→ {chain.conclusion.concludes}"))
    lines += [s.item(2, x) for x in _evidence(s, chain.conclusion.rule)]
    if chain.conclusion.certainty is not None:
        lines.append(s.item(2, _certainty(chain.conclusion.certainty)))
    if chain.reaches:
        lines.append(s.item(1, f"→ applied to: {', '.join(chain.reaches)}"))
    return lines


def _combination_lines(s: _Style, combo: Combination) -> list[str]:
    if not combo.steps:
        rule, value = combo.values[0]
        return [s.section(f"Certainty: {value:.2f} from one rule ({rule})")]
    lines = [s.section("Certainty across rules (MYCIN: x + y − x·y)")]
    lines.append(s.bullet(1, "; ".join(f"{rule} {value:.2f}" for rule, value in combo.values)))
    lines += [s.bullet(1, f"{x:.2f} + {y:.2f} − {x:.2f} × {y:.2f} = {z:.2f}") for x, y, z in combo.steps]
    return lines


def _counterfactual_lines(s: _Style, c: Counterfactual) -> list[str]:
    condition = f" if the case had {or_list(c.missing, 'and')}" if c.missing else ""
    lines = [s.bullet(1, f"{s.rule(c.rule.rule_id)} would {c.concludes}{condition}")]
    if c.met:
        lines.append(s.item(2, f"the case already has {or_list(c.met, 'and')}"))
    if c.in_the_way:
        lines.append(s.item(2, f"and did not have {or_list(c.in_the_way, 'or')}"))
    lines.append(s.item(2, f"{c.rule.description} - evidence {c.rule.grade} ({c.rule.grade_words}): "
                           f"{c.rule.citation} {c.rule.reference}"))
    return lines


def _block(s: _Style, title: str, lines: Iterable[str]) -> list[str]:
    body = list(lines)
    return ["", s.section(title), *body] if body else []


def is_proposal(step: Step) -> bool:
    """A step that proposed the item (the trace words every proposal "proposes ...")."""
    return step.concludes.startswith("proposes ")


def _lines(e: Explanation, s: _Style, case_id: str | None, source: str | None) -> list[str]:
    about = f" (case {case_id})" if case_id else ""
    out = [s.heading(f"{QUESTION[e.question]} {e.label}?{about}"), e.summary]
    if e.chains:
        out += ["", s.section("How the case leads there")]
        for i, chain in enumerate(e.chains, 1):
            out += _chain_lines(s, i, chain)
    stopped = e.verdict in STOPPED
    reasons = [step for step in e.steps if not (stopped and is_proposal(step))]
    overruled = [step for step in e.steps if stopped and is_proposal(step)]
    out += _block(s, "Rules and the case facts behind it", (x for step in reasons for x in _step_lines(s, step, 1)))
    out += _block(s, "Proposed, then overruled (a proposal or a request never outweighs a block)",
                  (x for step in overruled for x in _step_lines(s, step, 1)))
    if e.combination is not None:
        out += [""] + _combination_lines(s, e.combination)
    out += _block(s, "Notes", (s.bullet(1, d) for d in e.details))
    out += _block(s, "What would change it", (x for c in e.counterfactuals for x in _counterfactual_lines(s, c)))
    out += _block(s, "Evidence caveats", (s.bullet(1, c) for c in e.caveats))
    if e.see_also:
        out += ["", f"See also: medmassage explain {shlex.quote(source) if source else 'CASE'} {e.see_also}"]
    return out


def render_explanation(e: Explanation, case_id: str | None = None, source: str | None = None) -> str:
    """An explanation as plain text for a therapist; ``source`` is the case file ("See also" names it)."""
    return "\n".join(_lines(e, _Style(), case_id, source))


def render_explanation_markdown(e: Explanation, case_id: str | None = None, source: str | None = None) -> str:
    """An explanation as a Markdown section."""
    return "\n".join(_lines(e, _Markdown(), case_id, source))
