"""`recommend --format html`: one self-contained page that parses, draws every modality, and renders."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from medmassage_rules.cases.loading import load_case, validate_case
from medmassage_rules.cli import main
from medmassage_rules.explain.layers import LAYERS, layout, node_state, reasoning_graph
from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.render.html import render_html
from medmassage_rules.render.svg import CHAR_W, reasoning_geometry

from ..conftest import FACTS

CASES = sorted(p for p in FACTS.glob("*.y*ml"))
P05 = FACTS / "p05-fibromyalgia-warfarin.yaml"
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source", "track", "embed"}


class _Nesting(HTMLParser):
    """Checks that every element is closed in order (SVG's self-closing elements included)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:  # type: ignore[no-untyped-def]
        self.tags.append(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs) -> None:  # type: ignore[no-untyped-def]
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def page(path: Path, kb) -> tuple[str, object]:
    result = plan_case(load_case(path, kb.vocabulary), kb)
    return render_html(result, kb), result


def reasoning_svg(html: str) -> ET.Element:
    match = re.search(r'<svg class="reasoning".*?</svg>', html, re.S)
    assert match, "the page draws the reasoning"
    return ET.fromstring(match.group(0))


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_page_parses_and_draws_every_recommended_and_blocked_modality(path: Path, kb) -> None:
    html, result = page(path, kb)
    parser = _Nesting()
    parser.feed(html)
    parser.close()
    assert parser.problems == [] and parser.stack == []
    assert parser.tags[:1] == ["html"] and "style" in parser.tags and "svg" in parser.tags
    svg = reasoning_svg(html)
    nodes = {g.get("id"): g for g in svg.iter("g") if g.get("data-kind")}
    plan = result.plan
    for m in plan.modalities:
        node = nodes[f"modality:{m.id}"]
        assert node.get("data-state") == "recommended"
        assert node.findtext("text/tspan")                 # labelled
    edges = [p for p in svg.iter("path") if "edge" in (p.get("class") or "")]
    for b in plan.blocked_modalities:
        node = nodes[f"modality:{b.id}"]
        assert node.get("data-state") == node_state(b.reason)
        if b.reason not in ("blocked", "priced_out"):
            continue                                       # the planner's own check: no fact to draw
        blockers = [e for e in edges if e.get("data-target") == f"modality:{b.id}"
                    and ("blocks" in e.get("class") or "caps" in e.get("class"))]
        assert blockers, f"{b.id}: the fact that blocked it is drawn"
        assert all(e.get("data-source").startswith("fact:") for e in blockers)
    for t in plan.targets:
        assert nodes[f"target:{t.id}"].get("data-state") == "recommended"
    if not plan.treats:
        assert any(i.startswith("status:") for i in nodes)
    for g in nodes.values():
        assert "".join(g.itertext()).strip(), "every node is labelled"


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_page_has_no_outside_reference(path: Path, kb) -> None:
    html, _ = page(path, kb)
    lowered = html.lower()   # a citation's address may be printed as text; nothing is fetched or linked
    assert not re.search(r'(src|href|xlink:href|action|data)\s*=\s*["\']?(https?:)?//', lowered)
    assert not re.search(r"url\(\s*['\"]?(?!#|data:)", lowered)
    assert "<link" not in lowered and "@import" not in lowered
    assert lowered.count("<script") == 1 and "<script>" in lowered       # one inline script, nothing fetched


def test_page_sections_and_print_css(kb) -> None:
    html, result = page(P05, kb)
    assert '<section id="case">' in html                                 # the case facts: never hidden
    for section in ("summary", "timeline", "reasoning", "steps", "why", "evidence"):
        assert f'<section id="{section}" class="plan-part">' in html     # hidden while a class predicts
    assert "@media print" in html
    assert 'id="why-myofascial_release"' in html and 'id="why-not-deep_tissue"' in html
    assert "Fibromyalgia lowers pain tolerance" in html               # a blocking rule in a why-not panel
    citation = kb.citation_text(kb.by_id["contra-anticoagulant"].citation)
    assert escape(citation) in html                                   # citation text in the evidence table
    assert html.count('class="segment"') == len(result.plan.segments)


def test_every_text_is_escaped(kb) -> None:
    case = load_case(P05, kb.vocabulary)
    data = case.model_dump(exclude_none=True, exclude={"expect"})
    data["id"] = '<img src=x onerror="alert(1)">&co'
    result = plan_case(validate_case(data, "t", kb.vocabulary), kb)
    html = render_html(result, kb)
    assert "<img" not in html and "onerror=\"" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;co" in html


def test_reasoning_graph_layers_and_layout(kb) -> None:
    result = plan_case(load_case(P05, kb.vocabulary), kb)
    g = reasoning_graph(result, kb)
    assert {d["layer"] for _, d in g.nodes(data=True)} == set(range(len(LAYERS)))
    for source, target in g.edges:
        assert g.nodes[source]["layer"] < g.nodes[target]["layer"]   # always left to right
    placed = layout(g)
    assert placed.columns == len(LAYERS)
    for node in g.nodes:
        assert placed.positions[node][0] == pytest.approx(g.nodes[node]["layer"])   # one column per layer
    rows = [(round(x), round(y * 2)) for x, y in placed.positions.values()]
    assert len(rows) == len(set(rows))                                 # no two boxes or bends on one spot
    for (source, target), bends in placed.routes.items():             # a bend in every column an edge skips
        columns = [placed.positions[b][0] for b in bends]
        assert columns == list(range(g.nodes[source]["layer"] + 1, g.nodes[target]["layer"]))


def _bezier(piece, steps: int = 40):
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = piece
    for i in range(steps + 1):
        t = i / steps
        a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3
        yield a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_no_edge_crosses_a_box_it_does_not_connect(path: Path, kb) -> None:
    """Computed from the layout: every point of every edge lies outside every box but its own two."""
    _, result = page(path, kb)
    g = reasoning_graph(result, kb)
    geo = reasoning_geometry(g)
    assert set(geo.edges) == set(g.edges)
    for (source, target), pieces in geo.edges.items():
        assert pieces[0][0] == (geo.boxes[source][0] + geo.boxes[source][2],
                                geo.boxes[source][1] + geo.boxes[source][3] / 2)    # leaves its source's side
        assert pieces[-1][-1][0] == geo.boxes[target][0]                              # enters its target's side
        others = [box for node, box in geo.boxes.items() if node not in (source, target)]
        for piece in pieces:
            for x, y in _bezier(piece):
                inside = [b for b in others if b[0] - 1 < x < b[0] + b[2] + 1 and b[1] - 1 < y < b[1] + b[3] + 1]
                assert not inside, f"{source} -> {target} crosses the box at {inside[0][:2]}"
    boxes = list(geo.boxes.values())                                   # and no two boxes overlap
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]


def test_text_keeps_a_legible_size_and_the_drawings_are_never_shrunk(kb) -> None:
    html, _ = page(P05, kb)
    css = html[html.index("<style>"):html.index("</style>")]
    screen = css[:css.index("@media print")] + css[css.index("@media print"):].split("\n}\n", 1)[1]
    sizes = [int(px) for px in re.findall(r"font(?:-size)?:\s*(\d+)px", screen)]
    assert sizes and min(sizes) >= 13
    ems = [float(em) for em in re.findall(r"font-size:\s*([\d.]+)em", screen)]
    assert all(em * 15 >= 13 for em in ems)                            # 15 px body text
    assert re.search(r"\.figure svg \{[^}]*max-width: none", screen)   # the reasoning drawing: natural size
    for svg in re.findall(r"<svg [^>]*>", html):
        width = re.search(r' width="(\d+)"', svg).group(1)
        assert re.search(rf'viewBox="0 0 {width} \d+"', svg)
    timeline = re.search(r'<svg class="timeline"[^>]* width="(\d+)"', html)
    assert timeline and int(timeline.group(1)) <= 600                   # fits a 700 px window unscaled


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_timeline_labels_are_wrapped_inside_the_drawing(path: Path, kb) -> None:
    html, result = page(path, kb)
    svg = ET.fromstring(re.search(r'<svg class="timeline".*?</svg>', html, re.S).group(0))
    width = float(svg.get("width"))
    for text in svg.iter("text"):
        if text.get("class") in ("segment-label", "segment-detail"):
            assert float(text.get("x")) + len(text.text or "") * CHAR_W <= width, text.text
    shown = " ".join(t.text or "" for t in svg.iter("text"))
    for segment in result.plan.segments:
        for modality in segment.modalities:
            assert kb.vocabulary.label(modality) in shown.replace("\n", " ") or \
                kb.vocabulary.label(modality).split()[0] in shown       # every word is there, never cut


def test_recommend_output_writes_each_format_to_a_file(tmp_path: Path) -> None:
    for fmt in ("text", "json", "html"):
        out = tmp_path / f"plan.{fmt}"
        result = CliRunner().invoke(main, ["recommend", str(P05), "--format", fmt, "--output", str(out)])
        assert result.exit_code == 0, result.output
        assert result.stdout == ""
        assert out.read_text().strip()
    assert out.read_text().startswith("<!DOCTYPE html>")
    unwritable = CliRunner().invoke(main, ["recommend", str(P05), "--output", str(tmp_path / "no" / "x.txt")])
    assert unwritable.exit_code == 2 and "cannot write" in unwritable.stderr


def test_fact_boxes_say_no_internal_field(kb) -> None:
    html, _ = page(FACTS / "p06-lymphedema-decompensated-chf.yaml", kb)
    assert "index 0" not in html and "__" not in html


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_referrals_caps_and_statuses_come_from_case_facts_only(path: Path, kb) -> None:
    _, result = page(path, kb)
    g = reasoning_graph(result, kb)
    for node, data in g.nodes(data=True):
        if data["kind"] in ("referral", "status", "cap", "clearance", "area"):
            sources = list(g.predecessors(node))
            assert all(s.startswith("fact:") for s in sources), (node, sources)   # never from a benefit
