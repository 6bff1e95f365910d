"""What the plan page gathers: advisories grouped by kind and said once, source links, the body chart."""

from __future__ import annotations

import pytest

from medmassage_rules.cases.loading import load_case
from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.web.bodychart import body_chart
from medmassage_rules.web.view import group_advisories, source_link

from ..conftest import FACTS

CASES = sorted(FACTS.glob("p*.yaml"))


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem[:3])
def test_every_advisory_is_shown_once_in_its_group(kb, path) -> None:
    plan = plan_case(load_case(path, kb.vocabulary), kb).plan
    groups = group_advisories(plan.advisories, plan.advisory_kinds)
    shown = [item for _, items in groups for item in items]
    assert len(shown) == len(set(shown))
    text = "\n".join(shown)
    for advisory, kind in zip(plan.advisories, plan.advisory_kinds, strict=True):
        head, _, tail = advisory.partition(": ")
        assert advisory in shown or tail in shown or (head in text and tail in text), advisory
        if kind == "action":
            assert advisory in dict(groups)["Act now"]


def test_sites_that_end_alike_are_joined() -> None:
    groups = dict(group_advisories(("a: avoid deep pressure at the site itself", "b: avoid deep pressure at the site "
                                    "itself", "a: avoid deep pressure at the site itself", "stop: call"),
                                   ("delivery", "delivery", "delivery", "action")))
    assert groups == {"Act now": ("stop: call",),
                      "Endangerment sites": ("a, b: avoid deep pressure at the site itself",)}


def test_a_source_link_is_its_doi_or_its_address() -> None:
    assert source_link("Li YH (2014). PLoS One 9(2):e89304. doi:10.1371/journal.pone.0089304") == \
        "https://doi.org/10.1371/journal.pone.0089304"
    assert source_link("NICE NG59 (2016). https://www.nice.org.uk/guidance/ng59.") == \
        "https://www.nice.org.uk/guidance/ng59"
    assert source_link("Rattray F (2000). Clinical Massage Therapy. Talus.") is None


def test_the_chart_sides_follow_the_views(kb) -> None:
    chart = body_chart(plan_case(load_case(FACTS / "e04-known-dvt-cleared.yaml", kb.vocabulary), kb), kb)
    thigh_front = [s for s in chart.front if s.region.area == "thigh"]
    thigh_back = [s for s in chart.back if s.region.area == "thigh"]
    # front view: the patient's left is on the viewer's right; back view: on the viewer's left
    assert max(thigh_front, key=lambda s: s.x).region.side == "left"
    assert min(thigh_back, key=lambda s: s.x).region.side == "left"
    assert {s.region.state for s in thigh_front if s.region.side == "left"} == {"blocked"}
    assert all(r.state != "none" for r in chart.legend)


def test_the_form_offers_findings_in_the_order_consult_screens_them(kb) -> None:
    from medmassage_rules.teach.rule_needs import Needs
    from medmassage_rules.web.form import Choices

    choices = Choices.of(kb)
    first = next(item.key[1] for item in Needs(kb).items(kb.rules) if item.key[0] == "finding")
    assert choices.findings[0][0] == first
    assert sorted(i for i, _ in choices.findings) == sorted(kb.vocabulary.findings)
    assert sorted(i for i, _ in choices.history) == sorted(kb.vocabulary.history)
