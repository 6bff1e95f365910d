"""The classroom parts of the HTML page: the case facts, the reasoning as wrapped layers, the
step-through of the firings, predict-then-reveal, and the small inline script that drives them.

The page stays one offline file: the script is inline and fetches nothing. Without it the page
is whole (every detail can still be opened by focus, every firing is listed, nothing is hidden);
with it a box's details toggle on click or Enter, the firings can be walked one at a time with
the keyboard (→ or Space: next, ←: previous, Esc: all), and the plan can be hidden while a class
predicts it (the case facts stay). On paper every detail is printed and nothing is hidden.
"""

from __future__ import annotations

from html import escape
from typing import Any

import networkx as nx

from ..explain.layers import wrapped_layers
from ..kb.knowledge_base import KnowledgeBase
from ..planning.results import PlanResult
from ..teach.trace import case_fact_lines, trace_steps

CLASSROOM_CSS = """
td, th, li, p, code { overflow-wrap: anywhere; }   /* a long rule id or address wraps: nothing is cut */
.controls { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0; }
.controls button { font: inherit; padding: 6px 12px; border: 1px solid #8795a1; border-radius: 6px;
                   background: #f3f6f9; color: var(--ink); cursor: pointer; }
.controls button:focus-visible, .box:focus-visible { outline: 3px solid #2f6fb3; outline-offset: 2px; }
.layers { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.layer { flex: 1 1 200px; min-width: 0; }
.layer h3 { font-size: 15px; margin: 0 0 6px; }
.box { border: 1.5px solid #8795a1; border-radius: 6px; padding: 6px 8px; margin: 0 0 8px; background: #fff;
       font-size: 14px; overflow-wrap: anywhere; cursor: pointer; }
.box.fact { background: #e3eefc; } .box.mechanism { background: #efe6f7; } .box.benefit { background: #e4f4ea; }
.box.modality.recommended { background: #c9ecd5; border: 2px solid var(--ok); }
.box.target { background: #fff6d6; }
.box.blocked, .box.priced_out, .box.not_applicable { background: #fdecea; border: 2px dashed var(--stop);
                                                      color: var(--stop); }
.box.capped { background: #fdf2e0; border: 2px dotted var(--warn); }
.box .detail { display: none; margin-top: 6px; color: var(--ink); font-size: 14px; }
.box .detail ul { margin: 2px 0 0; padding-left: 18px; }
.box:focus .detail, .box:focus-within .detail, .box.open .detail { display: block; }
.drawing { display: none; }
@media (min-width: 1320px) { .drawing { display: block; } .layers.wide-hidden { display: none; } }
.firings { padding-left: 0; list-style: none; }
.firing { border-left: 4px solid var(--line); padding: 4px 10px; margin: 0 0 8px; }
.firing .rule { font-weight: 700; }
body.stepping .firing { display: none; }
body.stepping .firing.current { display: block; border-left-color: #2f6fb3; }
#step-count { align-self: center; color: var(--muted); }
#reveal { display: none; }
body.predict .plan-part { display: none; }
body.predict #reveal { display: inline-block; }
body.predict #predict { display: none; }
"""

CLASSROOM_PRINT_CSS = """
  .controls { display: none !important; }
  .box .detail { display: block !important; }
  .drawing { display: none !important; } .layers.wide-hidden { display: flex !important; }
  body.predict .plan-part, body.stepping .firing { display: block !important; }
"""

SCRIPT = """<script>
(() => {
  const body = document.body;
  const toggle = box => { const open = box.classList.toggle("open"); box.setAttribute("aria-expanded", open); };
  for (const box of document.querySelectorAll(".box")) {
    box.addEventListener("click", () => toggle(box));
    box.addEventListener("keydown", e => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(box); }
    });
  }
  const firings = [...document.querySelectorAll(".firing")];
  const count = document.getElementById("step-count");
  let at = 0;
  const show = i => {
    at = Math.max(0, Math.min(firings.length - 1, i));
    firings.forEach((f, k) => f.classList.toggle("current", k === at));
    count.textContent = "firing " + (at + 1) + " of " + firings.length;
    firings[at].scrollIntoView({block: "nearest"});
  };
  const start = () => { body.classList.add("stepping"); show(0); };
  const stop = () => { body.classList.remove("stepping"); count.textContent = ""; };
  document.getElementById("step-start").addEventListener("click", start);
  document.getElementById("step-next").addEventListener("click", () => {
    if (!body.classList.contains("stepping")) start(); else show(at + 1);
  });
  document.getElementById("step-prev").addEventListener("click", () => show(at - 1));
  document.getElementById("step-all").addEventListener("click", stop);
  document.addEventListener("keydown", e => {
    if (!body.classList.contains("stepping") || e.target.closest(".box")) return;
    if (e.key === "ArrowRight" || e.key === " " || e.key === "n") { e.preventDefault(); show(at + 1); }
    else if (e.key === "ArrowLeft" || e.key === "p") { e.preventDefault(); show(at - 1); }
    else if (e.key === "Escape") stop();
  });
  const predict = () => { body.classList.add("predict"); document.getElementById("reveal").focus(); };
  const reveal = () => { body.classList.remove("predict"); };
  document.getElementById("predict").addEventListener("click", predict);
  document.getElementById("reveal").addEventListener("click", reveal);
  if (location.hash === "#predict") predict();
  window.addEventListener("beforeprint",
                          () => document.querySelectorAll(".box").forEach(b => b.classList.add("open")));
})();
</script>"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def case_section(result: PlanResult, kb: KnowledgeBase) -> str:
    """The case facts (always shown: the class predicts from them), and the predict / reveal buttons."""
    facts = "".join(f"<li>{_e(line)}</li>" for line in case_fact_lines(result, kb))
    return ("<section id=\"case\"><h2>The case</h2><ul>" + facts + "</ul>"
            "<div class=\"controls\"><button type=\"button\" id=\"predict\">Hide the plan: predict it first</button>"
            "<button type=\"button\" id=\"reveal\">Reveal the plan</button></div></section>")


def _detail(g: nx.DiGraph, node: str) -> str:
    data = g.nodes[node]

    def linked(pairs: list[tuple[str, str]], other_end: int) -> list[str]:
        out = []
        for edge in pairs:
            rules = ", ".join(r for r in g.edges[edge]["rules"] if r != "plan") or "the session plan"
            out.append(f"{g.nodes[edge[other_end]]['label']} ({g.edges[edge]['style']}; {rules})")
        return out

    parts = [f"<p>{_e(data['title'])}</p>"] if data["title"] != data["label"] else []
    came = linked(list(g.in_edges(node)), 0)
    goes = linked(list(g.out_edges(node)), 1)
    if came:
        parts.append("<p>from:</p><ul>" + "".join(f"<li>{_e(c)}</li>" for c in came) + "</ul>")
    if goes:
        parts.append("<p>to:</p><ul>" + "".join(f"<li>{_e(c)}</li>" for c in goes) + "</ul>")
    return "".join(parts)


def layers_html(g: nx.DiGraph) -> str:
    """The reasoning graph as layers that wrap to the page's width; each box opens its details
    (what it says, where it comes from and leads to, by which rules) on click or focus."""
    out = ["<div class=\"layers wide-hidden\">"]
    for title, nodes in wrapped_layers(g):
        out.append(f"<div class=\"layer\"><h3>{_e(title)}</h3>")
        for node in nodes:
            data = g.nodes[node]
            out.append(f"<div class=\"box {_e(data['kind'])} {_e(data['state'])}\" tabindex=\"0\" role=\"button\" "
                       f"aria-expanded=\"false\" data-node=\"{_e(node)}\"><span class=\"label\">{_e(data['label'])}"
                       f"</span><div class=\"detail\">{_detail(g, node)}</div></div>")
        out.append("</div>")
    out.append("</div>")
    return "".join(out)


def steps_section(result: PlanResult, kb: KnowledgeBase) -> str:
    """Every firing in order; with the script, one at a time from the keyboard."""
    items = []
    for step in trace_steps(result, kb):
        facts = "".join(f"<li>because {_e(f)}</li>" for f in step.facts)
        said = "".join(f"<li>=&gt; {_e(c)}</li>" for c in step.conclusions)
        items.append(f"<li class=\"firing\" id=\"firing-{step.number}\"><span class=\"rule\">{step.number}. "
                     f"{_e(step.rule_id)}</span> - {_e(step.description)} <span class=\"muted\">[grade "
                     f"{_e(step.grade)}; {_e(step.citation)}]</span><ul>{facts}{said}</ul></li>")
    return ("<section id=\"steps\" class=\"plan-part\"><h2>The rules, firing by firing</h2>"
            "<p class=\"muted\">Step through them one at a time: → or Space for the next, ← for the previous, "
            "Esc to show them all.</p><div class=\"controls\">"
            "<button type=\"button\" id=\"step-start\">Step through</button>"
            "<button type=\"button\" id=\"step-prev\">← Previous</button>"
            "<button type=\"button\" id=\"step-next\">Next →</button>"
            "<button type=\"button\" id=\"step-all\">Show all</button><span id=\"step-count\"></span></div>"
            f"<ol class=\"firings\">{''.join(items)}</ol></section>")
