"""`recommend --format html`: one self-contained page that parses, draws every modality, and renders."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from medmassage_rules.cases import load_case, validate_case
from medmassage_rules.cli import main
from medmassage_rules.planner import plan_case
from medmassage_rules.reasoning import LAYERS, layout, reasoning_graph
from medmassage_rules.render.html import render_html

from .conftest import FACTS

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
        assert node.get("data-state") == b.reason
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
    lowered = html.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert not re.search(r'(src|href)\s*=\s*["\']?//', lowered)
    assert not re.search(r"url\(\s*['\"]?(?!#|data:)", lowered)
    assert "<script" not in lowered and "<link" not in lowered and "@import" not in lowered


def test_page_sections_and_print_css(kb) -> None:
    html, result = page(P05, kb)
    for section in ("summary", "timeline", "reasoning", "why", "evidence"):
        assert f'<section id="{section}">' in html
    assert "@media print" in html
    assert 'id="why-myofascial_release"' in html and 'id="why-not-deep_tissue"' in html
    assert "Fibromyalgia lowers pain tolerance" in html               # a blocking rule in a why-not panel
    assert "Ernst E. The safety of massage therapy" in html           # citation text in the evidence table
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
    for node, (x, _) in placed.positions.items():
        assert x == pytest.approx(g.nodes[node]["layer"])            # one column per layer
    rows = [(round(x), round(y * 2)) for x, y in placed.positions.values()]
    assert len(rows) == len(set(rows))                                 # no two boxes on one spot


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


def test_page_renders_in_a_real_browser(kb, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium binary on PATH (.ci/run installs Debian's chromium)")
    html, _ = page(P05, kb)
    source = tmp_path / "plan.html"
    source.write_text(html, encoding="utf-8")
    shot = tmp_path / "plan.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1200,1600",
                    source.as_uri()], capture_output=True, timeout=180, check=False)
    assert shot.is_file(), "chromium wrote no screenshot"
    width, height, rows = _png_pixels(shot.read_bytes())
    assert (width, height) == (1200, 1600)
    pixels = [row[i:i + 3] for row in rows[::4] for i in range(0, len(row), 12)]   # a 4x4 sample
    inked = [p for p in pixels if min(p) < 235]
    assert len(inked) > len(pixels) * 0.05, "the page is not blank"
    assert len(set(pixels)) > 50, "text, bars and boxes in several colours"
    reds = [p for p in pixels if p[0] > 150 and p[1] < 90 and p[2] < 90]
    greens = [p for p in pixels if p[1] > 100 and p[0] < 90 and p[2] < 120]
    assert reds, "the blocked modalities show in red"
    assert greens, "the status badge and certainty bars show in green"


def test_why_not_panels_give_no_proposal_as_a_reason_for_a_block(kb) -> None:
    html, result = page(P05, kb)
    panel = re.search(r'<article class="panel blocked" id="why-not-deep_tissue">.*?</article>', html, re.S)
    assert panel, "a why-not panel for deep tissue"
    reasons = re.search(r"<ul>.*?</ul>", panel.group(0), re.S).group(0)
    assert "contra-anticoagulant" in reasons and "fibro-light-pressure" in reasons
    assert "rx-requested-modality" not in reasons
    assert "Proposed by rx-requested-modality, then overruled" in panel.group(0)


def test_a_plan_that_does_not_treat_shows_no_pressure_cap_as_if_it_mattered(kb) -> None:
    html, result = page(FACTS / "p04-pseudo-angina-exertional.yaml", kb)
    assert result.plan.status == "refer_urgent"
    row = re.search(r"<th>Pressure cap</th><td>(.*?)</td>", html).group(1)
    assert row.startswith("no treatment today") and "nothing caps pressure" not in row
    assert re.search(r"<th>Session</th><td>none: no treatment today</td>", html)
