"""A plan in the format asked for, and the format an output file's extension asks for.

text for a therapist at a glance (with ``explain``, each recommended modality explained
after it); json for the plan of contract §2; html for one self-contained page; markdown
for a handout; soap for a SOAP-note draft of the visit; ``brief`` text is "today" in at most
ten lines. Text can be wrapped to a terminal's width. Each renderer is imported when its format
is asked for: the explanations and drawings load only for the formats that show them.
"""

from __future__ import annotations

from pathlib import Path

from ..kb.knowledge_base import KnowledgeBase
from ..planning.results import PlanResult

PLAN_FORMATS = ("text", "json", "html", "markdown", "soap")
FHIR_FORMAT = "fhir"  # recommend --format fhir (render.fhir_bundle); not a terminal format
FORMAT_OF_SUFFIX = {".txt": "text", ".json": "json", ".html": "html", ".htm": "html", ".md": "markdown",
                    ".markdown": "markdown"}
TERMINAL_FORMATS = ("text", "markdown", "soap")  # read on a terminal: control characters are escaped


def format_of_output(output: Path | None) -> str:
    """The format an output file's extension names (``-`` and no output: text)."""
    return FORMAT_OF_SUFFIX.get(output.suffix.lower(), "text") if output is not None else "text"


def render_plan(result: PlanResult, kb: KnowledgeBase, fmt: str, *, explain: bool = False,
                source: str | None = None, brief: bool = False, width: int | None = None) -> str:
    """``result`` rendered as ``fmt``; ``explain`` adds to the text each recommended modality's
    explanation, headed by the case id and ``source`` (the case file). Markdown always explains.
    ``brief`` gives the text's short form; ``width`` wraps text to that many columns."""
    if explain and fmt in ("json", "html", "soap"):
        raise ValueError(f"explanations go with the text format, not {fmt}")
    if brief and (fmt != "text" or explain):
        raise ValueError("the brief is a text format, without explanations")
    if fmt == "soap":
        from .soap import render_soap
        return render_soap(result, kb)
    if fmt == "json":
        from .json import render_json
        return render_json(result)
    if fmt == "markdown":
        from .markdown import render_markdown
        return render_markdown(result, kb)
    if fmt == "html":
        from .html import render_html
        return render_html(result, kb)
    if fmt == "fhir":  # a FHIR R4 Bundle: ServiceRequests, DetectedIssues, a Provenance
        if explain:
            raise ValueError("explanations go with the text format, not fhir")
        from .fhir_bundle import render_fhir_bundle
        return render_fhir_bundle(result, kb)
    if fmt != "text":
        raise ValueError(f"unknown plan format {fmt!r}; one of {', '.join(PLAN_FORMATS)}")
    from .text import render_text, wrap_text
    if brief:
        from .brief import render_brief
        return render_brief(result, kb) if width is None else wrap_text(render_brief(result, kb), width)
    text = render_text(result, kb)
    if explain:
        from ..explain import explain_recommended
        from .explain_text import render_explanation
        text += "".join("\n\n" + render_explanation(e, result.plan.case_id, source)
                        for e in explain_recommended(result, kb))
    return text if width is None else wrap_text(text, width)
