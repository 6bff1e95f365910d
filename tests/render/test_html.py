"""`recommend --format html`: one self-contained page that parses, draws every modality, and renders."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from html import escape, unescape
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
    assert "<script" not in lowered and "<link" not in lowered and "@import" not in lowered


def test_page_sections_and_print_css(kb) -> None:
    html, result = page(P05, kb)
    for section in ("summary", "timeline", "reasoning", "why", "evidence"):
        assert f'<section id="{section}">' in html
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


def test_text_keeps_a_legible_size_and_the_figures_scroll_instead_of_shrinking(kb) -> None:
    html, _ = page(P05, kb)
    css = html[html.index("<style>"):html.index("</style>")]
    screen = css[:css.index("@media print")]
    sizes = [int(px) for px in re.findall(r"font(?:-size)?:\s*(\d+)px", screen)]
    assert sizes and min(sizes) >= 13
    assert re.search(r"\.figure svg \{[^}]*max-width: none", screen)
    assert not re.search(r"\.figure svg \{[^}]*width: 100%", screen)
    for svg in re.findall(r"<svg [^>]*>", html):                       # drawn at their natural size
        width = re.search(r' width="(\d+)"', svg).group(1)
        assert re.search(rf'viewBox="0 0 {width} \d+"', svg)


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


# -- a real browser ----------------------------------------------------------------------------------
def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG with the standard library: (width, height, rows)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line if bpp == 3 else bytes(v for k, v in enumerate(line) if k % 4 != 3)))
        prev = line
    return width, height, rows


def _chromium() -> str | None:
    return next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser")) if p), None)


# Added to a copy of the page only (the page itself has no script): measures the layout as drawn.
PROBE = """<script>
window.addEventListener("load", () => {
  const out = {};
  const figure = document.querySelector("#reasoning .figure");
  const svg = figure.querySelector("svg");
  out.scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  out.scrolls = figure.scrollWidth > figure.clientWidth + 1;
  out.smallest = Math.min(...[...document.querySelectorAll("svg text")].map(
    t => parseFloat(getComputedStyle(t).fontSize) * out.scale));
  out.spills = [];
  for (const g of document.querySelectorAll("svg.reasoning g.node")) {
    const box = g.querySelector("rect").getBBox(), text = g.querySelector("text").getBBox();
    if (text.x < box.x - 1 || text.x + text.width > box.x + box.width + 1 ||
        text.y < box.y - 1 || text.y + text.height > box.y + box.height + 1) out.spills.push(g.id);
  }
  const timeline = document.querySelector("svg.timeline");
  out.cut = [...timeline.querySelectorAll("text")].filter(
    t => t.getBBox().x + t.getBBox().width > timeline.viewBox.baseVal.width + 0.5).map(t => t.textContent);
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def _browse(browser: str, page_file: Path, tmp_path: Path, width: int, *what: str) -> subprocess.CompletedProcess:
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                           f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={width},1600", *what,
                           page_file.as_uri()], capture_output=True, timeout=180, check=False, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("width", [700, 1400])
def test_page_renders_in_a_real_browser(kb, tmp_path: Path, width: int) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium binary on PATH (.ci/run installs Debian's chromium)")
    html, _ = page(P05, kb)
    source = tmp_path / "plan.html"
    source.write_text(html, encoding="utf-8")
    shot = tmp_path / f"plan-{width}.png"
    _browse(browser, source, tmp_path, width, f"--screenshot={shot}")
    assert shot.is_file(), "chromium wrote no screenshot"
    got_width, height, rows = _png_pixels(shot.read_bytes())
    assert (got_width, height) == (width, 1600)
    pixels = [row[i:i + 3] for row in rows[::4] for i in range(0, len(row), 12)]   # a 4x4 sample
    inked = [p for p in pixels if min(p) < 235]
    assert len(inked) > len(pixels) * 0.05, "the page is not blank"
    assert len(set(pixels)) > 50, "text, bars and boxes in several colours"
    reds = [p for p in pixels if p[0] > 150 and p[1] < 90 and p[2] < 90]
    greens = [p for p in pixels if p[1] > 100 and p[0] < 90 and p[2] < 120]
    assert reds, "the blocked modalities show in red"
    assert greens, "the status badge and certainty bars show in green"
    # the layout as the browser drew it
    probed = tmp_path / "probed.html"
    probed.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _browse(browser, probed, tmp_path, width, "--virtual-time-budget=3000", "--dump-dom").stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the probe ran"
    measured = json.loads(unescape(found.group(1)))
    assert measured["scale"] == pytest.approx(1.0, abs=0.01), "the drawing is never shrunk"
    assert measured["smallest"] >= 13, "no text below 13 px"
    assert measured["scrolls"] is (width < 1000), "a narrow window scrolls the figure sideways"
    assert measured["spills"] == [], "every label inside its box"
    assert measured["cut"] == [], "no timeline label cut at the edge"


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
