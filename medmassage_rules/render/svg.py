"""Inline SVG drawings for the HTML page: the layered reasoning graph and the session timeline.

Plain SVG elements with every text escaped, no namespace URL and no external reference, so
the page works offline and its SVG parses as XML. The drawing is at its natural size (text
never shrinks below ``FONT`` pixels; the page scrolls sideways instead).

:func:`reasoning_geometry` turns :func:`~medmassage_rules.explain.layers.layout` into pixels: the
boxes of a column are stacked, each as near as it fits to the height of the boxes that lead
to it; a bend point keeps a thin slot of its own between two boxes. An edge leaves the right
side of its source, crosses each gap between columns as a curve that stays inside the gap,
crosses each column it skips along its bend's slot, and enters the left side of its target:
so no edge passes over a box it does not connect (tests check it from the geometry).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from html import escape

import networkx as nx

from ..explain.layers import LAYER_TITLES, layout
from ..kb.vocabulary import Vocabulary
from ..planning.plan import Plan

FONT = 13                       # px: the smallest text of the drawings
BOX_W, GAP_X, TOP, MARGIN = 196, 60, 48, 14
LINE_CHARS, MAX_LINES, LINE_H, PAD = 26, 4, 16, 12
GAP_Y, BEND_H = 12, 8           # between two slots of a column; a bend's slot
CHAR_W = 7.4                    # px per character at FONT, generous, for wrapping
GROUP_COLOURS = ("#cfe0fb", "#cdebdc", "#e8d7f0", "#f8dfbf")

Point = tuple[float, float]
Cubic = tuple[Point, Point, Point, Point]


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _label_lines(text: str) -> list[str]:
    lines = textwrap.wrap(text, LINE_CHARS) or [""]
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES]
        lines[-1] = lines[-1][:LINE_CHARS - 1].rstrip() + "…"
    return lines


@dataclass(frozen=True)
class Geometry:
    """The reasoning graph in pixels: each node's box and label, each edge as cubic pieces."""

    width: int
    height: int
    columns: int
    boxes: dict[str, tuple[float, float, float, float]]     # node -> (x, y, width, height)
    lines: dict[str, list[str]]                             # node -> its label, wrapped
    edges: dict[tuple[str, str], list[Cubic]]               # edge -> its pieces, left to right

    def column_x(self, column: int) -> float:
        return MARGIN + column * (BOX_W + GAP_X)


def reasoning_geometry(g: nx.DiGraph) -> Geometry:
    """Place boxes and route edges (see the module's docstring)."""
    placed = layout(g)
    columns: dict[int, list[str]] = {}
    for node, (x, _) in sorted(placed.positions.items(), key=lambda item: item[1]):
        columns.setdefault(int(x), []).append(node)
    lines = {n: _label_lines(g.nodes[n]["label"]) for n in g.nodes}
    height = {n: (LINE_H * len(lines[n]) + PAD if n in g else BEND_H) for nodes in columns.values() for n in nodes}
    predecessors: dict[str, list[str]] = {}
    for (source, target), bends in placed.routes.items():
        chain = (source, *bends, target)
        for a, b in zip(chain, chain[1:], strict=False):
            predecessors.setdefault(b, []).append(a)
    top: dict[str, float] = {}
    for column in sorted(columns):
        cursor = float(TOP)
        for node in columns[column]:
            before = [top[p] + height[p] / 2 for p in predecessors.get(node, []) if p in top]
            wanted = sum(before) / len(before) - height[node] / 2 if before else cursor
            top[node] = max(cursor, wanted)
            cursor = top[node] + height[node] + GAP_Y
    x_of = {n: MARGIN + int(x) * (BOX_W + GAP_X) for n, (x, _) in placed.positions.items()}
    boxes = {n: (float(x_of[n]), top[n], float(BOX_W), float(height[n])) for n in g.nodes}
    mid = {n: top[n] + height[n] / 2 for n in top}
    edges: dict[tuple[str, str], list[Cubic]] = {}
    for (source, target), bends in placed.routes.items():
        pieces: list[Cubic] = []
        here: Point = (x_of[source] + BOX_W, mid[source])
        for stop in (*bends, target):
            entry: Point = (float(x_of[stop]), mid[stop])
            bend = (entry[0] - here[0]) / 2
            pieces.append((here, (here[0] + bend, here[1]), (entry[0] - bend, entry[1]), entry))
            if stop != target:     # straight across the column, along the bend's own slot
                here = (entry[0] + BOX_W, entry[1])
                pieces.append((entry, entry, here, here))
        edges[(source, target)] = pieces
    width = MARGIN * 2 + placed.columns * BOX_W + max(placed.columns - 1, 0) * GAP_X
    bottom = max((top[n] + height[n] for n in top), default=TOP)
    return Geometry(int(width), int(bottom + MARGIN), placed.columns, boxes, lines, edges)


def _path(pieces: list[Cubic]) -> str:
    (x0, y0) = pieces[0][0]
    parts = [f"M{x0:.1f},{y0:.1f}"]
    for _, (ax, ay), (bx, by), (cx, cy) in pieces:
        parts.append(f"C{ax:.1f},{ay:.1f} {bx:.1f},{by:.1f} {cx:.1f},{cy:.1f}")
    return " ".join(parts)


def reasoning_svg(g: nx.DiGraph) -> str:
    """The reasoning graph: one column per layer, vetoes in red dashes, caps in amber dots."""
    geo = reasoning_geometry(g)
    out = [f'<svg class="reasoning" role="img" viewBox="0 0 {geo.width} {geo.height}" width="{geo.width}" '
           f'height="{geo.height}" aria-label="Reasoning graph: case facts, mechanisms, benefits, modalities, '
           'targets">']
    out.append("<title>How the plan was reasoned</title>")
    for i, title in enumerate(LAYER_TITLES[:geo.columns]):
        out.append(f'<text class="layer-title" x="{geo.column_x(i) + BOX_W / 2:.0f}" y="24">{escape(title)}</text>')
    out.append('<g class="edges">')
    for (source, target), pieces in geo.edges.items():
        data = g.edges[source, target]
        rules = ", ".join(r for r in data["rules"] if r != "plan") or "the session plan"
        out.append(f'<path class="edge {data["style"]}" data-source="{_attr(source)}" data-target="{_attr(target)}" '
                   f'd="{_path(pieces)}"><title>{escape(rules)}</title></path>')
    out.append("</g>")
    out.append('<g class="nodes">')
    for node, data in g.nodes(data=True):
        x, y, w, h = geo.boxes[node]
        lines = geo.lines[node]
        _, _, ident = node.partition(":")
        cx = x + w / 2
        out.append(f'<g id="{_attr(node)}" class="node {_attr(data["kind"])} {_attr(data["state"])}" '
                   f'data-kind="{_attr(data["kind"])}" data-id="{_attr(ident)}" data-state="{_attr(data["state"])}">')
        out.append(f"<title>{escape(data['title'])}</title>")
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.0f}" height="{h:.0f}" rx="6"/>')
        first = y + PAD / 2 + LINE_H * 0.75
        spans = "".join(f'<tspan x="{cx:.1f}" dy="{0 if i == 0 else LINE_H}">{escape(line)}</tspan>'
                        for i, line in enumerate(lines))
        out.append(f'<text x="{cx:.1f}" y="{first:.1f}">{spans}</text></g>')
    out.append("</g></svg>")
    return "\n".join(out)


def _wrap_px(text: str, width: float) -> list[str]:
    return textwrap.wrap(text, max(int(width / CHAR_W), 12)) or [""]


def timeline_svg(plan: Plan, vocab: Vocabulary, width: int = 900) -> str:
    """The session as bars: one per segment, as long as its minutes, on a scale to the ceiling.

    Each bar's words go on lines of their own under it, wrapped to the drawing's width, so no
    label is cut at the edge however short the segment."""
    scale_max = max(plan.minutes_ceiling, plan.total_minutes, 15)
    left, bar_h = 10, 24
    span = width - 2 * left
    rows: list[str] = []
    y = 28.0
    start = 0
    for segment in plan.segments:
        x = left + span * start / scale_max
        w = span * segment.minutes / scale_max
        colour = GROUP_COLOURS[vocab.area_groups.index(segment.group) % len(GROUP_COLOURS)] \
            if segment.group in vocab.area_groups else GROUP_COLOURS[0]
        what = f"{start}-{start + segment.minutes} min: {vocab.label(segment.group)}"
        detail = (f"{', '.join(vocab.label(t) for t in segment.targets)} - "
                  f"{', '.join(vocab.label(m) for m in segment.modalities)}")
        words = _wrap_px(what, span) + _wrap_px(detail, span)
        text = "".join(
            f'<text class="{"segment-label" if i < len(_wrap_px(what, span)) else "segment-detail"}" '
            f'x="{left}" y="{y + bar_h + LINE_H * (i + 1) - 2:.1f}">{escape(line)}</text>'
            for i, line in enumerate(words))
        rows.append(f'<g class="segment" data-group="{_attr(segment.group)}" data-minutes="{segment.minutes}">'
                    f"<title>{escape(what)}: {escape(detail)}</title>"
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar_h}" rx="4" fill="{colour}"/>'
                    f"{text}</g>")
        y += bar_h + LINE_H * len(words) + 14
        start += segment.minutes
    if not plan.segments:
        rows.append(f'<text class="no-session" x="{left}" y="{y + 22:.0f}">No session: '
                    f'{escape(plan.status.replace("_", " "))}</text>')
        y += 36
    height = int(y + 8)
    out = [f'<svg class="timeline" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'aria-label="Session timeline, {plan.total_minutes} of {plan.minutes_ceiling} minutes">']
    for tick in range(0, scale_max + 1, 5):
        x = left + span * tick / scale_max
        out.append(f'<line class="tick" x1="{x:.1f}" y1="18" x2="{x:.1f}" y2="{height - 6}"/>')
        out.append(f'<text class="tick-label" x="{x:.1f}" y="13">{tick}</text>')
    out += rows
    ceiling_x = left + span * plan.minutes_ceiling / scale_max
    out.append(f'<line class="ceiling" x1="{ceiling_x:.1f}" y1="16" x2="{ceiling_x:.1f}" y2="{height - 4}">'
               f"<title>ceiling: {plan.minutes_ceiling} minutes</title></line>")
    out.append("</svg>")
    return "\n".join(out)
