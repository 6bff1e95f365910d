"""End to end in a real browser: the installed ``medmassage serve`` on a free localhost port, driven
by Playwright through Debian's chromium (``executable_path``; no browser is downloaded).

The form is filled and sent, a "why" opened, and the plan page checked at 390 and 1280 pixels
wide for horizontal scrolling; the print view hides the controls and keeps the chart's legend.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

pytestmark = pytest.mark.slow  # a server and a browser: about 20 seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(*options: str) -> tuple[subprocess.Popen[str], str]:
    """``medmassage serve`` in its own process; returns it and the address line it printed."""
    proc = subprocess.Popen([sys.executable, "-m", "medmassage_rules", "serve", *options],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    lines = []
    while not any(line.startswith("medmassage: serving on") for line in lines):
        line = proc.stderr.readline()
        assert line, f"the server stopped: {''.join(lines)}"
        lines.append(line)
    return proc, "".join(lines)


def wait_for(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the server did not listen")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    proc, said = start("--port", str(port))
    try:
        wait_for(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)



def no_sideways_scroll(page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_fill_submit_open_a_why_at_phone_and_desktop_widths(server: str, browser: Browser) -> None:
    for width in (390, 1280):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(server + "/")
        assert no_sideways_scroll(page), f"the form scrolls sideways at {width} px"
        page.fill("input[name='id']", f"browser-{width}")
        page.fill("input[name='diagnoses-0-condition']", "fibromyalgia")
        page.fill("textarea[name='medications']", "warfarin")
        page.check("input[name='modalities'][value='deep_tissue']")
        page.click("button.primary")
        page.wait_for_url(re.compile(r"/plan/[A-Za-z0-9_-]+$"))
        assert "TREAT WITH PRECAUTIONS" in page.inner_text(".banner")
        assert page.locator(".brief li").count() <= 8
        assert no_sideways_scroll(page), f"the plan page scrolls sideways at {width} px"

        why = page.locator("details#why-myofascial_release")
        assert not why.evaluate("d => d.open")
        why.locator("summary").click()
        assert why.evaluate("d => d.open")
        assert "evidence" in why.locator(".why-body").inner_text()
        assert no_sideways_scroll(page), f"an open why scrolls sideways at {width} px"
        why_not = page.locator("details#why-not-deep_tissue")
        why_not.locator("summary").click()
        assert "contra-anticoagulant" in why_not.inner_text()

        region = page.locator("svg.body a.region.light").first
        region.focus()
        assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith(("neck", "upper back",
                                                                                             "lower back"))
        note = page.locator("textarea[name='note']")
        assert note.input_value().startswith("SOAP note draft - case browser-")

        page.emulate_media(media="print")
        assert not page.locator("section.soap").is_visible()  # the note is downloaded, not printed
        assert not why.locator(".why-body").is_visible()        # a why prints as its one-line answer
        assert why.locator("summary").is_visible()
        assert page.locator("ul.legend").is_visible()
        assert not page.locator("nav.actions").is_visible()
        page.close()


def test_a_form_problem_is_shown_beside_its_field(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 900})
    page.goto(server + "/")
    page.fill("input[name='diagnoses-0-condition']", "carpal tunel syndrome")
    page.click("button.primary")
    page.wait_for_load_state()
    problem = page.locator("label:has(input[name='diagnoses-0-condition']) .problem")
    assert "did you mean carpal_tunnel_syndrome" in problem.inner_text()
    assert page.locator("input[name='diagnoses-0-condition']").get_attribute("aria-invalid") == "true"
    assert no_sideways_scroll(page)
    page.close()


def test_serving_beyond_localhost_warns_and_prints_a_token_address() -> None:
    port = free_port()
    proc, said = start("--host", "0.0.0.0", "--port", str(port))
    try:
        assert "warning: serving on 0.0.0.0" in said
        assert re.search(rf"http://0\.0\.0\.0:{port}/\?token=[A-Za-z0-9_-]{{20,}}", said)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("case", ["p05-fibromyalgia-warfarin.yaml", "e04-known-dvt-cleared.yaml"])
def test_the_plan_prints_on_at_most_two_pages(server: str, browser: Browser, case: str) -> None:
    page = browser.new_page()
    page.goto(server + "/")
    with page.expect_navigation():
        page.set_input_files("input[name='case']", str(Path(__file__).resolve().parents[2] / "facts" / case))
        page.click("form.upload button")
    pdf = page.pdf(format="A4")
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
    assert 1 <= pages <= 2, f"{case} prints on {pages} pages"
    page.close()


def test_a_port_in_use_is_one_error_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "medmassage_rules", "serve", "--port", str(port)],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_a_long_unbroken_case_id_does_not_widen_the_page(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 900})
    page.goto(server + "/")
    page.fill("input[name='id']", "x" * 190)
    page.fill("input[name='diagnoses-0-condition']", "M54.16")
    page.fill("textarea[name='medications']", "y" * 150)
    page.click("button.primary")
    page.wait_for_url(re.compile(r"/plan/[A-Za-z0-9_-]+$"))
    assert no_sideways_scroll(page)
    page.close()
