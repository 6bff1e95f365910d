"""Inline SVG drawings for the HTML page: the layered reasoning graph and the session timeline.

Plain SVG elements with every text escaped, no namespace URL and no external reference, so
the page works offline and its SVG parses as XML. Node positions come from
:func:`~medmassage_rules.reasoning.layout` (networkx's multipartite layout); this module only
scales them to pixels and draws boxes, wrapped labels and curved edges.
"""

from __future__ import annotations

import textwrap
from html import escape

import networkx as nx

from ..plan import Plan
from ..reasoning import LAYER_TITLES, layout
from ..vocabulary import Vocabulary

BOX_W, COLUMN, ROW, TOP, MARGIN = 190, 232, 60, 44, 12
LINE_CHARS, MAX_LINES, LINE_H = 30, 3, 13
GROUP_COLOURS = ("#cfe0fb", "#cdebdc", "#e8d7f0", "#f8dfbf")


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _label_lines(text: str) -> list[str]:
    lines = textwrap.wrap(text, LINE_CHARS) or [""]
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES]
        lines[-1] = lines[-1][:LINE_CHARS - 1].rstrip() + "…"
    return lines


def reasoning_svg(g: nx.DiGraph) -> str:
    """The reasoning graph: one column per layer, vetoes in red dashes, caps in amber dots."""
    placed = layout(g)
    width = MARGIN * 2 + BOX_W + COLUMN * (placed.columns - 1)
    height = TOP + int(placed.rows * ROW) + MARGIN

    def centre(node: str) -> tuple[float, float]:
        x, y = placed.positions[node]
        return MARGIN + BOX_W / 2 + x * COLUMN, TOP + ROW / 2 + y * ROW

    out = [f'<svg class="reasoning" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'aria-label="Reasoning graph: case facts, mechanisms, benefits, modalities, targets">']
    out.append("<title>How the plan was reasoned</title>")
    for i, title in enumerate(LAYER_TITLES[:placed.columns]):
        out.append(f'<text class="layer-title" x="{MARGIN + BOX_W / 2 + i * COLUMN:.0f}" y="22">{escape(title)}</text>')
    out.append('<g class="edges">')
    for source, target, data in g.edges(data=True):
        (x1, y1), (x2, y2) = centre(source), centre(target)
        x1 += BOX_W / 2
        x2 -= BOX_W / 2
        bend = max(40.0, (x2 - x1) / 2)
        rules = ", ".join(r for r in data["rules"] if r != "plan") or "the session plan"
        out.append(f'<path class="edge {data["style"]}" data-source="{_attr(source)}" data-target="{_attr(target)}" '
                   f'd="M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}">'
                   f"<title>{escape(rules)}</title></path>")
    out.append("</g>")
    out.append('<g class="nodes">')
    for node, data in g.nodes(data=True):
        x, y = centre(node)
        lines = _label_lines(data["label"])
        box_h = LINE_H * len(lines) + 12
        kind, _, ident = node.partition(":")
        out.append(f'<g id="{_attr(node)}" class="node {_attr(data["kind"])} {_attr(data["state"])}" '
                   f'data-kind="{_attr(data["kind"])}" data-id="{_attr(ident)}" data-state="{_attr(data["state"])}">')
        out.append(f"<title>{escape(data['title'])}</title>")
        out.append(f'<rect x="{x - BOX_W / 2:.1f}" y="{y - box_h / 2:.1f}" width="{BOX_W}" height="{box_h}" rx="6"/>')
        first = y - (len(lines) - 1) * LINE_H / 2 + 4
        out.append(f'<text x="{x:.1f}" y="{first:.1f}">' + "".join(
            f'<tspan x="{x:.1f}" dy="{0 if i == 0 else LINE_H}">{escape(line)}</tspan>' for i, line in enumerate(lines))
            + "</text></g>")
    out.append("</g></svg>")
    return "\n".join(out)


def timeline_svg(plan: Plan, vocab: Vocabulary, width: int = 960) -> str:
    """The session as bars: one per segment, as long as its minutes, on a scale to the ceiling."""
    scale_max = max(plan.minutes_ceiling, plan.total_minutes, 15)
    left, bar_h, gap = 10, 34, 44
    span = width - 2 * left
    rows = max(len(plan.segments), 1)
    height = 30 + rows * gap + 20
    out = [f'<svg class="timeline" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'aria-label="Session timeline, {plan.total_minutes} of {plan.minutes_ceiling} minutes">']
    for tick in range(0, scale_max + 1, 5):
        x = left + span * tick / scale_max
        out.append(f'<line class="tick" x1="{x:.1f}" y1="18" x2="{x:.1f}" y2="{height - 14}"/>')
        out.append(f'<text class="tick-label" x="{x:.1f}" y="12">{tick}</text>')
    start = 0
    for row, segment in enumerate(plan.segments):
        x = left + span * start / scale_max
        w = span * segment.minutes / scale_max
        y = 24 + row * gap
        colour = GROUP_COLOURS[vocab.area_groups.index(segment.group) % len(GROUP_COLOURS)] \
            if segment.group in vocab.area_groups else GROUP_COLOURS[0]
        what = f"{start}-{start + segment.minutes} min: {vocab.label(segment.group)}"
        detail = (f"{', '.join(vocab.label(t) for t in segment.targets)} - "
                  f"{', '.join(vocab.label(m) for m in segment.modalities)}")
        out.append(f'<g class="segment" data-group="{_attr(segment.group)}" data-minutes="{segment.minutes}">'
                   f"<title>{escape(what)}: {escape(detail)}</title>"
                   f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="4" fill="{colour}"/>'
                   f'<text class="segment-label" x="{x + 8:.1f}" y="{y + 14}">{escape(what)}</text>'
                   f'<text class="segment-detail" x="{x + 8:.1f}" y="{y + 28}">{escape(detail)}</text></g>')
        start += segment.minutes
    if not plan.segments:
        out.append(f'<text class="no-session" x="{left}" y="50">No session: '
                   f'{escape(plan.status.replace("_", " "))}</text>')
    ceiling_x = left + span * plan.minutes_ceiling / scale_max
    out.append(f'<line class="ceiling" x1="{ceiling_x:.1f}" y1="16" x2="{ceiling_x:.1f}" y2="{height - 10}">'
               f"<title>ceiling: {plan.minutes_ceiling} minutes</title></line>")
    out.append("</svg>")
    return "\n".join(out)
