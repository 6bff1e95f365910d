"""The body chart of a plan: front and back silhouettes, each area coloured by the pressure it gets.

An area worked in the session takes the colour of the highest pressure any of its targets gets
(light, moderate, deep); a blocked area is hatched and labelled as well as coloured; a capped
area without work is outlined. Each area is a link to its line of the legend below the
drawing, which says what happens there and why (the reason shows on focus or tap, and the
legend prints). The patient's right is on the viewer's left in the front view and on the
viewer's right in the back view. Plain data here; the template draws it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..kb.knowledge_base import KnowledgeBase
from ..kb.wording import side_note
from ..planning.results import PlanResult
from ..render.brief import cap_place

WIDTH, HEIGHT, MIDDLE = 200, 456, 100
# (x, y, width, height) of each area on the viewer's left half; axial areas span the middle.
SHAPES: dict[str, tuple[int, int, int, int]] = {
    "head": (80, 6, 40, 46), "neck": (90, 54, 20, 15),
    "shoulder": (52, 70, 30, 22), "axilla": (68, 94, 12, 22), "chest": (72, 72, 28, 50),
    "upper_arm": (44, 94, 20, 56), "forearm": (38, 152, 20, 56), "wrist_hand": (32, 210, 22, 34),
    "abdomen": (72, 124, 56, 62), "upper_back": (72, 72, 56, 60), "lower_back": (72, 134, 56, 52),
    "hip_gluteal": (72, 188, 28, 36), "inguinal": (76, 188, 22, 16),
    "thigh": (72, 226, 26, 72), "knee": (74, 300, 22, 24), "lower_leg": (75, 326, 20, 72),
    "ankle_foot": (72, 400, 24, 30),
}
AXIAL_SHAPES = frozenset({"head", "neck", "abdomen", "upper_back", "lower_back"})
FRONT = ("head", "neck", "shoulder", "chest", "axilla", "upper_arm", "forearm", "wrist_hand", "abdomen",
         "inguinal", "thigh", "knee", "lower_leg", "ankle_foot")
BACK = ("head", "neck", "shoulder", "upper_back", "lower_back", "upper_arm", "forearm", "wrist_hand",
        "hip_gluteal", "thigh", "knee", "lower_leg", "ankle_foot")
PRESSURE_ORDER = ("light", "moderate", "deep")


@dataclass(frozen=True)
class Region:
    """One area on one side as drawn: where, its state and the words for its legend line."""

    key: str            # "wrist_hand-right", "neck": the legend line's anchor
    area: str
    side: str | None
    label: str
    state: str          # "light", "moderate", "deep", "blocked", "capped" or "none"
    reason: str


@dataclass(frozen=True)
class Shape:
    region: Region
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class BodyChart:
    front: tuple[Shape, ...]
    back: tuple[Shape, ...]
    legend: tuple[Region, ...]     # the areas the plan names, in the drawing's order


def _sides(side: str | None) -> tuple[str, ...]:
    return ("left", "right") if side in (None, "bilateral") else (side,)


def body_chart(result: PlanResult, kb: KnowledgeBase) -> BodyChart:
    """The chart of one plan (every area of the vocabulary that the drawing knows)."""
    plan, v = result.plan, kb.vocabulary
    worked: dict[tuple[str, str], list[str]] = {}
    work_words: dict[tuple[str, str], dict[str, list[str]]] = {}   # (area, side) -> target -> its work
    for segment in plan.segments:
        for w in segment.work:
            area = v.area_of(w.target)
            for side in _sides(w.side):
                worked.setdefault((area, side), []).append(w.pressure)
                work = work_words.setdefault((area, side), {}).setdefault(v.label(w.target), [])
                if f"{v.label(w.modality)} {w.pressure}" not in work:
                    work.append(f"{v.label(w.modality)} {w.pressure}")
    blocked: dict[tuple[str, str], list[str]] = {}
    partly: dict[tuple[str, str], list[str]] = {}
    for b in plan.blocked_areas:
        for side in _sides(None if b.id in v.axial_areas else b.side):
            blocked.setdefault((b.id, side), []).extend(kb.by_id[r].description for r in b.because)
    for b in getattr(plan, "blocked_targets", ()):  # one target of an area: the area is outlined, not hatched
        for side in _sides(b.side):
            note = f"no work on {v.label(b.id)} - " + "; ".join(kb.by_id[r].description for r in b.because)
            partly.setdefault((v.area_of(b.id), side), []).append(note)
    capped: dict[tuple[str, str], str] = {}
    for c in plan.caps:
        area, words = cap_place(c, kb)
        for side in _sides(None if area in v.axial_areas else c.side):
            capped[(area, side)] = f"{words}: {c.pressure} pressure at most - " + "; ".join(
                kb.by_id[r].description for r in c.because)

    regions: dict[tuple[str, str], Region] = {}

    def region(area: str, side: str) -> Region:
        if (area, side) in regions:
            return regions[(area, side)]
        axial = area in AXIAL_SHAPES
        key = area if axial else f"{area}-{side}"
        label = v.label(area) + ("" if axial else side_note(side))
        if (area, side) in blocked:
            state, reason = "blocked", "no work here - " + "; ".join(dict.fromkeys(blocked[(area, side)]))
        elif (area, side) in worked:
            state = max(worked[(area, side)], key=PRESSURE_ORDER.index)
            reason = "; ".join(f"{target}: {', '.join(work)}" for target, work in work_words[(area, side)].items())
            if (area, side) in capped:
                reason += f" ({capped[(area, side)]})"
        elif (area, side) in capped:
            state, reason = "capped", capped[(area, side)]
        elif (area, side) in partly:
            state, reason = "capped", ""
        else:
            state, reason = "none", "not part of today's session"
        if (area, side) in partly and state != "blocked":
            reason = "; ".join([reason, *partly[(area, side)]] if reason else partly[(area, side)])
        regions[(area, side)] = Region(key, area, None if axial else side, label, state, reason)
        return regions[(area, side)]

    def view(areas: tuple[str, ...], viewer_left: str) -> tuple[Shape, ...]:
        viewer_right = "left" if viewer_left == "right" else "right"
        shapes = []
        for area in areas:
            if area not in SHAPES:
                continue
            x, y, w, h = SHAPES[area]
            if area in AXIAL_SHAPES:
                # an axial area has no side; its state is the worse of the two sides' (a block wins)
                left, right = region(area, "left"), region(area, "right")
                chosen = left if left.state == "blocked" or right.state == "none" else right
                regions[(area, "left")] = regions[(area, "right")] = chosen
                shapes.append(Shape(chosen, x, y, w, h))
                continue
            shapes.append(Shape(region(area, viewer_left), x, y, w, h))
            shapes.append(Shape(region(area, viewer_right), 2 * MIDDLE - x - w, y, w, h))
        return tuple(shapes)

    front, back = view(FRONT, "right"), view(BACK, "left")
    legend = tuple(dict.fromkeys(s.region for s in (*front, *back) if s.region.state != "none"))
    return BodyChart(front, back, legend)
