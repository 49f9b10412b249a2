"""The browser-test infrastructure works: the system Chromium renders a canvas headless, and
the live console stack comes up and answers its API."""

from __future__ import annotations

import json
import urllib.request

CANVAS_PAGE = ("<canvas id=c width=200 height=100></canvas><script>const g=document.getElementById('c')"
               ".getContext('2d'); g.fillStyle='#f00'; g.fillRect(0,0,200,100);</script>")


def test_system_chromium_renders_a_red_canvas_without_errors(page, shots_dir) -> None:
    page.set_content(CANVAS_PAGE)
    shot = shots_dir / "smoke.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 0, "the screenshot is empty"
    rgba = page.evaluate("Array.from(document.getElementById('c').getContext('2d')"
                         ".getImageData(100, 50, 1, 1).data)")
    assert rgba == [255, 0, 0, 255], f"the canvas centre is {rgba}, not opaque red"
    assert page.errors == [], page.errors


def test_page_errors_records_console_errors_and_uncaught_exceptions(page) -> None:
    page.set_content("<script>console.error('boom'); setTimeout(() => { throw new Error('bang'); });</script>")
    page.wait_for_timeout(200)
    assert any("boom" in e for e in page.errors), page.errors
    assert any("bang" in e for e in page.errors), page.errors


def test_the_console_stack_answers_its_status_to_a_viewer(console_stack) -> None:
    assert set(console_stack.tokens) == {"olga", "vera", "abe"}
    req = urllib.request.Request(f"{console_stack.url}/api/status",
                                 headers={"Authorization": f"Bearer {console_stack.tokens['vera']}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200, r.status
        body = json.loads(r.read())
    assert isinstance(body, dict) and body, f"/api/status gave {body!r}"
    assert console_stack.sim.poll() is None, "the sim stopped before the test ran"
