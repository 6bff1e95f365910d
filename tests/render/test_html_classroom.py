"""The plan page in a classroom, in a real browser: Playwright driving Debian's chromium
(``executable_path``, no browser downloaded) on public cases, at 700 px (a projector) and 1400 px.

Nothing is cut and no text is under 13 px at 700 px; a box's rules open on click or focus and
print; the firings step one at a time from the keyboard; the plan hides while a class predicts
it; the print view shows everything and no control; the page fetches nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from medmassage_rules.cases.loading import load_case
from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.render.html import render_html

from ..conftest import FACTS

PUBLIC = [FACTS / name for name in ("p05-fibromyalgia-warfarin.yaml", "p13-runner-competing.yaml",
                                    "p35-hip-surgery-day20-iliopsoas.yaml")]
pytestmark = pytest.mark.slow  # a browser: about 10 seconds

# the smallest text as drawn: its computed size times the scale of the SVG it sits in
SMALLEST_TEXT = """() => Math.min(...[...document.querySelectorAll("body *")]
  .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== "hidden"
               && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
  .map(e => {
    const svg = e.closest("svg");
    const scale = svg ? svg.getBoundingClientRect().width / svg.viewBox.baseVal.width : 1;
    return parseFloat(getComputedStyle(e).fontSize) * scale;
  }))"""
# every visible element that reaches past the window's right edge
CUT = """() => [...document.querySelectorAll("body *")]
  .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .map(e => e.tagName + "." + (e.getAttribute("class") || ""))"""



def open_page(browser: Browser, kb, path: Path, tmp_path: Path, width: int) -> tuple[Page, list[str]]:
    result = plan_case(load_case(path, kb.vocabulary), kb)
    source = tmp_path / f"{path.stem}.html"
    source.write_text(render_html(result, kb), encoding="utf-8")
    page = browser.new_page(viewport={"width": width, "height": 900})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(source.as_uri())
    return page, requests


@pytest.mark.parametrize("path", PUBLIC, ids=lambda p: p.stem)
def test_at_700_px_nothing_is_cut_and_no_text_is_under_13_px(browser: Browser, kb, path: Path,
                                                            tmp_path: Path) -> None:
    page, requests = open_page(browser, kb, path, tmp_path, 700)
    assert page.evaluate("document.documentElement.scrollWidth") <= 700
    assert page.evaluate(CUT) == []
    assert page.evaluate(SMALLEST_TEXT) >= 13
    assert page.is_visible("#reasoning .layers") and not page.is_visible("#reasoning .drawing")
    boxes = page.locator("#reasoning .box")
    assert boxes.count() > 5
    assert page.is_visible("svg.timeline")
    assert requests == [page.url], "the page fetches nothing: it works offline"
    page.close()


def test_at_1400_px_the_graph_is_drawn_at_its_natural_size(browser: Browser, kb, tmp_path: Path) -> None:
    page, _ = open_page(browser, kb, PUBLIC[0], tmp_path, 1400)
    assert page.is_visible("#reasoning .drawing svg") and not page.is_visible("#reasoning .layers")
    scale = page.evaluate("(() => { const s = document.querySelector('svg.reasoning'); "
                          "return s.getBoundingClientRect().width / s.viewBox.baseVal.width; })()")
    assert scale == pytest.approx(1.0, abs=0.01)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    page.close()


def test_a_box_opens_its_rules_on_click_or_focus(browser: Browser, kb, tmp_path: Path) -> None:
    page, _ = open_page(browser, kb, PUBLIC[0], tmp_path, 700)
    blocked = page.locator("#reasoning .box.blocked", has_text="Deep tissue massage")
    detail = blocked.locator(".detail")
    assert not detail.is_visible()
    blocked.focus()                                           # by keyboard: Tab reaches it
    assert detail.is_visible() and "fibro-light-pressure" in detail.inner_text()
    page.locator("h1").click()                                # focus leaves: closed again
    assert not detail.is_visible()
    blocked.click()                                           # a click keeps it open
    page.locator("h1").click()
    assert detail.is_visible() and blocked.get_attribute("aria-expanded") == "true"
    page.close()


def test_the_firings_step_one_at_a_time_from_the_keyboard(browser: Browser, kb, tmp_path: Path) -> None:
    page, _ = open_page(browser, kb, PUBLIC[0], tmp_path, 700)
    firings = page.locator(".firing")
    total = firings.count()
    assert total > 3 and all(firings.nth(i).is_visible() for i in range(total))   # all shown at first

    def shown() -> list[int]:
        return [i for i in range(total) if firings.nth(i).is_visible()]

    page.click("#step-start")
    assert shown() == [0] and page.inner_text("#step-count") == f"firing 1 of {total}"
    page.keyboard.press("ArrowRight")
    page.keyboard.press(" ")
    assert shown() == [2]
    page.keyboard.press("ArrowLeft")
    assert shown() == [1]
    page.keyboard.press("Escape")
    assert shown() == list(range(total))
    page.close()


def test_the_plan_hides_while_the_class_predicts_and_reveals(browser: Browser, kb, tmp_path: Path) -> None:
    page, _ = open_page(browser, kb, PUBLIC[0], tmp_path, 700)
    page.click("#predict")
    assert page.is_visible("#case") and "a diagnosis of fibromyalgia" in page.inner_text("#case")
    for section in ("#summary", "#timeline", "#reasoning", "#steps", "#why", "#evidence", "header .status"):
        assert not page.is_visible(section), section
    assert page.evaluate("document.activeElement.id") == "reveal"
    page.keyboard.press("Enter")                              # the reveal button has the focus
    assert page.is_visible("#summary") and page.is_visible("header .status")
    page.close()


def test_print_shows_every_detail_and_no_control(browser: Browser, kb, tmp_path: Path) -> None:
    page, _ = open_page(browser, kb, PUBLIC[0], tmp_path, 700)
    page.click("#step-start")
    page.click("#predict")                                    # even a hidden plan is printed
    page.emulate_media(media="print")
    assert not page.is_visible(".controls button")
    assert page.is_visible("#summary") and page.is_visible("#reasoning .layers")
    details = page.locator("#reasoning .box .detail")
    assert details.count() > 5 and all(details.nth(i).is_visible() for i in range(details.count()))
    assert all(page.locator(".firing").nth(i).is_visible() for i in range(page.locator(".firing").count()))
    assert len(page.pdf()) > 10_000                           # chromium prints it
    page.close()
