"""The operator console in a real browser (Debian's chromium, headless, driven by
Playwright) against a live realtime simulation and ``groundsw serve``.

The operator logs in, sees telemetry plotted and its line growing as samples arrive, builds
and submits a job, watches its row go through its stages to the ground and fetches its
result (checked against its SHA-256 in the page); a viewer sees no job builder and the API
refuses the viewer's submit. Screenshots of the views go to out/console-screenshots.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from flightsw.sched.types import WAIT_REASONS
from groundsw.api.app import OPENMCT_DIST

pytestmark = pytest.mark.skipif(not (OPENMCT_DIST / "openmct.js").exists(),
                                reason="Open MCT is not installed: make install fetches it")

SOC_CHANNEL = "power.power_budget.battery_soc"
PLOT_TIMEOUT_MS = 60_000
JOB_TIMEOUT_MS = 150_000  # the first pass opens ~545 s in at 30x: about 18 s of wall time, then the job runs


def stage_names(page, cell: str) -> list[str]:
    """The stages a history cell shows, in order (each also carries its time)."""
    return page.eval_on_selector_all(f"{cell} [data-stage]", "spans => spans.map(s => s.dataset.stage)")


def login(page, url: str, token: str) -> None:
    page.goto(f"{url}/console/", timeout=PLOT_TIMEOUT_MS)
    page.fill("#token", token, timeout=PLOT_TIMEOUT_MS)
    page.click("#login")
    page.wait_for_selector("#who:has-text('(')", timeout=PLOT_TIMEOUT_MS)
    # Open MCT started and done with its first navigation (to the root): a view opened by a
    # hash change before that is lost (the start's own navigation writes the hash after it)
    page.wait_for_function("() => window.sunsched !== undefined && location.hash.startsWith('#/browse/')",
                           timeout=PLOT_TIMEOUT_MS)


def test_the_operator_logs_in_sees_telemetry_submits_a_job_and_fetches_its_result(console_stack, page, shots_dir):
    s = console_stack
    login(page, s.url, s.tokens["olga"])
    assert page.inner_text("#who") == "olga (operator)"

    # jobs: build and submit before the first pass opens (~18 s of wall time in): it goes up
    # in that pass, runs, and its result comes down in the same pass
    page.goto(f"{s.url}/console/#/browse/sunsched:root/sunsched:view.jobs")
    builder = page.wait_for_selector("[data-testid=job-builder]", timeout=PLOT_TIMEOUT_MS)
    assert builder is not None
    page.fill("#jb-work", "-5")  # bad work: the API refuses it and names the field
    page.click("[data-testid=job-submit]")
    page.wait_for_selector("[data-testid=job-status].error", timeout=10_000)
    assert "work_gpu_s" in page.inner_text("[data-testid=job-status]")
    page.fill("#jb-priority", "3")
    page.fill("#jb-work", "5")
    page.click("[data-testid=job-dry-run]")  # checked and costed, not stored
    page.wait_for_selector("[data-testid=job-status]:has-text('dry run: valid')", timeout=10_000)
    assert re.search(r"about [\d.]+ Wh", page.inner_text("[data-testid=job-status]"))
    page.click("[data-testid=job-submit]")
    page.wait_for_selector("[data-testid=job-status]:has-text('submitted')", timeout=10_000)
    job_id = page.get_attribute("[data-testid=job-status]", "data-job-id")
    assert job_id and re.fullmatch(r"[A-Za-z0-9._-]+", job_id), job_id
    # telemetry: the battery SOC as a plot, in realtime on the sim's clock (it ticks with the
    # samples the station archives: they come down from the first pass on)
    page.wait_for_function("() => /sim 20\\d\\d-/.test(document.getElementById('sim-time').textContent)",
                           timeout=PLOT_TIMEOUT_MS)
    # the conductor in realtime on the sim's clock (before the first pass the console starts on
    # a fixed window: nothing had come down for the clock to follow)
    page.goto(f"{s.url}/console/#/browse/sunsched:root/sunsched:src.power/sunsched:{SOC_CHANNEL}"
              "?tc.mode=remote-clock&tc.timeSystem=utc&tc.startDelta=1800000&tc.endDelta=60000")
    page.wait_for_selector(".gl-plot", timeout=PLOT_TIMEOUT_MS)
    # a drawn SOC series gives the y axis ticks in [0, 1] (an empty plot has none)
    page.wait_for_function("""() => [...document.querySelectorAll('.gl-plot-tick')]
        .some(t => /^0\\.\\d+$/.test(t.textContent.trim()))""", timeout=PLOT_TIMEOUT_MS)
    ticks = page.eval_on_selector_all(".gl-plot-tick", "ts => ts.map(t => t.textContent).join('|')")
    page.wait_for_function("""(before) => [...document.querySelectorAll('.gl-plot-tick')]
        .map(t => t.textContent).join('|') !== before""", arg=ticks, timeout=PLOT_TIMEOUT_MS)  # it scrolls
    # the floor and the warning level above it, as limit lines
    page.wait_for_selector(".c-plot-limit-line", state="attached", timeout=10_000)
    page.screenshot(path=str(shots_dir / "telemetry-plot.png"))

    page.goto(f"{s.url}/console/#/browse/sunsched:root/sunsched:view.jobs")
    row = f"tr[data-job='{job_id}']"
    page.wait_for_selector(f"{row} [data-testid=job-stages]:has-text('COMPLETED')", timeout=JOB_TIMEOUT_MS)
    page.wait_for_selector(f"{row} [data-testid=fetch-result]", timeout=JOB_TIMEOUT_MS)
    stages = stage_names(page, f"{row} [data-testid=job-stages]")
    page.wait_for_selector(f"{row} [data-testid=job-stages]:has-text('DOWNLINKED')", timeout=JOB_TIMEOUT_MS)
    stages = stage_names(page, f"{row} [data-testid=job-stages]")
    for stage in ("QUEUED", "SENT", "ACCEPTED", "STARTED", "COMPLETED", "DOWNLINKED"):
        assert stage in stages, stages
    assert stages.index("COMPLETED") < stages.index("DOWNLINKED"), stages
    page.click(f"{row} [data-testid=fetch-result]")
    link = page.wait_for_selector(f"{row} [data-testid=result-link]", timeout=30_000)
    assert link.get_attribute("data-verified") == "true"
    assert int(link.get_attribute("data-bytes")) == 4096
    # cancel a queued job of the scenario's: the request is recorded and shown on its row
    victim = page.get_attribute("tr:has([data-testid=job-cancel])", "data-job")
    page.click(f"tr[data-job='{victim}'] [data-testid=job-cancel]")
    page.wait_for_selector(f"tr[data-job='{victim}']:has-text('cancel requested'), "
                           f"tr[data-job='{victim}'] .stage-CANCELLED", timeout=10_000)
    page.screenshot(path=str(shots_dir / "jobs.png"))
    # the browser logs the refused submit (422) as a failed load; nothing else may fail
    unexpected = [e for e in page.errors if "422 (Unprocessable Entity)" not in e]
    assert unexpected == [], unexpected


def test_a_viewer_gets_no_job_builder_and_the_api_refuses_its_submit(console_stack, page, shots_dir):
    s = console_stack
    login(page, s.url, s.tokens["vera"])
    page.goto(f"{s.url}/console/#/browse/sunsched:root/sunsched:view.jobs")
    page.wait_for_selector("[data-testid=jobs-table]", timeout=PLOT_TIMEOUT_MS)
    assert page.query_selector("[data-testid=job-builder]") is None
    assert "may not submit" in page.inner_text(".sunsched-view")
    page.screenshot(path=str(shots_dir / "jobs-viewer.png"))
    req = urllib.request.Request(f"{s.url}/api/jobs", method="POST", data=json.dumps(
        {"kind": "synthetic", "priority": 1, "work_gpu_s": 5.0}).encode(),
        headers={"Authorization": f"Bearer {s.tokens['vera']}", "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=30)
    assert refused.value.code == 403


def test_a_bad_token_is_refused_at_login(console_stack, page):
    page.goto(f"{console_stack.url}/console/")
    page.fill("#token", "not-a-token")
    page.click("#login")
    page.wait_for_selector("#login-error:has-text('refused')")
    assert page.inner_text("#who") == ""


CRITICAL = ("supervisor.SUP_SET_MODE", {"mode": "NOMINAL", "reason": "console test"})


def test_a_critical_command_waits_for_an_approver_and_a_viewer_is_refused_it(console_stack, page, browser,
                                                                              shots_dir):
    s = console_stack
    # the viewer: no sender, and the ground refuses the command when the page tries anyway
    login(page, s.url, s.tokens["vera"])
    page.goto(f"{s.url}/console/#/browse/sunsched:root/sunsched:view.commands")
    page.wait_for_selector("[data-testid=cmd-not-allowed]", timeout=PLOT_TIMEOUT_MS)
    assert page.query_selector("[data-testid=cmd-sender]") is None
    refused = page.evaluate("""async ([name, args]) => {
        try { await window.sunsched.api('/commands', {method: 'POST', body: {name, args}}); return 'sent'; }
        catch (e) { return `${e.status} ${e.message}`; } }""", list(CRITICAL))
    assert refused.startswith("403 role:"), refused

    # the operator sends it: it is held for an approver
    op = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    login(op, s.url, s.tokens["olga"])
    op.goto(f"{s.url}/console/#/browse/sunsched:root/sunsched:view.commands")
    op.wait_for_selector("#cmd-name", timeout=PLOT_TIMEOUT_MS)
    op.select_option("#cmd-name", CRITICAL[0])
    for key, value in CRITICAL[1].items():
        op.fill(f"#cmd-arg-{key}", value)
    op.click("[data-testid=cmd-send]")
    op.wait_for_selector("[data-testid=cmd-status]:has-text('awaiting an approver')", timeout=10_000)
    cmd_id = re.search(r"#(\d+)", op.inner_text("[data-testid=cmd-status]")).group(1)
    assert op.query_selector(f"tr[data-cmd='{cmd_id}'] [data-testid=cmd-approve]") is None, "not by its sender"
    op.screenshot(path=str(shots_dir / "commands.png"))

    # the approver approves it; it goes up at the pass and completes
    ap = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    login(ap, s.url, s.tokens["abe"])
    ap.goto(f"{s.url}/console/#/browse/sunsched:root/sunsched:view.commands")
    ap.click(f"tr[data-cmd='{cmd_id}'] [data-testid=cmd-approve]", timeout=PLOT_TIMEOUT_MS)
    ap.wait_for_selector(f"tr[data-cmd='{cmd_id}']:has-text('approved by abe')", timeout=10_000)
    op.wait_for_selector(f"tr[data-cmd='{cmd_id}'] [data-testid=cmd-stages]:has-text('ACCEPTED')",
                         timeout=JOB_TIMEOUT_MS)
    stages = stage_names(op, f"tr[data-cmd='{cmd_id}'] [data-testid=cmd-stages]")
    assert stages[:4] == ["QUEUED", "RELEASED", "SENT", "ACCEPTED"], stages


def test_the_energy_view_links_the_power_picture_to_the_queue(console_stack, page, shots_dir):
    s = console_stack
    login(page, s.url, s.tokens["vera"])
    page.wait_for_function("() => /sim 20\\d\\d-/.test(document.getElementById('sim-time').textContent)",
                           timeout=PLOT_TIMEOUT_MS)
    page.goto(f"{s.url}/console/#/browse/sunsched:root/sunsched:view.energy")
    page.wait_for_selector("[data-testid=energy-now] td:has-text('%')", timeout=PLOT_TIMEOUT_MS)
    soc = re.search(r"([\d.]+) %", page.inner_text("[data-testid=energy-now]"))
    assert soc and 0.0 < float(soc.group(1)) <= 100.0, page.inner_text("[data-testid=energy-now]")
    page.wait_for_selector("[data-testid=energy-timeline] rect[data-kind=sun]", timeout=PLOT_TIMEOUT_MS)
    page.wait_for_selector("[data-testid=energy-pass]", timeout=PLOT_TIMEOUT_MS)
    page.wait_for_function("() => /cap \\[W\\][\\s\\S]*\\d{3}/.test("
                           "document.querySelector('[data-testid=energy-boards]').innerText)", timeout=PLOT_TIMEOUT_MS)
    # the battery forecast over the orbit ahead, with the floor and the charge held at eclipse end
    page.wait_for_selector("[data-testid=energy-soc-forecast] polyline[data-kind=soc]", timeout=PLOT_TIMEOUT_MS)
    n_points = int(page.get_attribute("[data-testid=energy-soc-forecast] polyline[data-kind=soc]", "data-points"))
    assert 10 <= n_points <= 64, n_points
    ys = [float(xy.split(",")[1]) for xy in page.get_attribute(
        "[data-testid=energy-soc-forecast] polyline[data-kind=soc]", "points").split()]
    assert len(ys) == n_points and max(ys) > min(ys), "a flat forecast over an orbit with an eclipse"
    for kind in ("floor", "hold"):
        assert page.query_selector(f"[data-testid=energy-soc-forecast] line[data-kind={kind}]"), kind
    # the compute planned per board (the executor's commanded caps): every board has its
    # figure, and some board runs a job at or above the boards' minimum power
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=energy-planned] td')]"
                           ".some((td) => Number(td.textContent) >= 200)", timeout=PLOT_TIMEOUT_MS)
    planned = page.eval_on_selector_all("[data-testid=energy-planned] td", "(tds) => tds.map((td) => td.textContent)")
    assert len(planned) == 16 and all(p == "idle" or 200 <= float(p) <= 700 for p in planned), planned
    page.wait_for_selector("[data-testid=wait-reason]", timeout=PLOT_TIMEOUT_MS)
    reasons = page.eval_on_selector_all("[data-testid=wait-reason]", "(tds) => tds.map((td) => td.textContent)")
    assert reasons and set(reasons) <= set(WAIT_REASONS) | {"-"}, reasons
    page.screenshot(path=str(shots_dir / "energy.png"))


def test_the_operator_acknowledges_an_alarm_and_the_event_log_filters_by_severity(console_stack, page, shots_dir):
    s = console_stack  # its fault plan fails a board early: a WARNING_HI event comes down at the first pass
    login(page, s.url, s.tokens["olga"])
    page.goto(f"{s.url}/console/#/browse/sunsched:root/sunsched:view.alarms")
    page.wait_for_selector("tr[data-state=active] [data-testid=alarm-ack]", timeout=JOB_TIMEOUT_MS)
    alarm = page.get_attribute("tr[data-state=active]", "data-alarm")
    page.click(f"tr[data-alarm='{alarm}'] [data-testid=alarm-shelve]")  # hidden for an hour of sim time
    page.wait_for_selector(f"tr[data-alarm='{alarm}'][data-state=shelved]:has-text('shelved by olga until')",
                           timeout=10_000)
    page.click(f"tr[data-alarm='{alarm}'] [data-testid=alarm-ack]")
    page.wait_for_selector(f"tr[data-alarm='{alarm}'][data-state=acknowledged]:has-text('acknowledged by olga')",
                           timeout=10_000)
    assert "acknowledged" in page.inner_text("[data-testid=alarm-counts]")
    page.wait_for_selector("[data-testid=events-table] tr[data-severity=WARNING_HI]", timeout=10_000)
    page.uncheck("[data-testid=event-filters] input[data-severity=WARNING_HI]")
    assert page.is_hidden("[data-testid=events-table] tr[data-severity=WARNING_HI]")
    page.screenshot(path=str(shots_dir / "alarms.png"))


def test_event_markers_overlay_the_plots(console_stack, page, shots_dir):
    s = console_stack  # its fault plan fails a board early: a WARNING_HI event comes down at the first pass
    login(page, s.url, s.tokens["vera"])
    page.wait_for_function("() => /sim 20\\d\\d-/.test(document.getElementById('sim-time').textContent)",
                           timeout=JOB_TIMEOUT_MS)
    page.goto(f"{s.url}/console/#/browse/sunsched:root/sunsched:plots/sunsched:plot.{SOC_CHANNEL}"
              "?tc.mode=remote-clock&tc.timeSystem=utc&tc.startDelta=3600000&tc.endDelta=60000")
    page.wait_for_selector(".gl-plot", timeout=PLOT_TIMEOUT_MS)
    # the events series, through Open MCT's own telemetry API: the board failure, ranked WARNING_HI
    got = page.evaluate("""async () => {
        const om = window.sunsched.openmct;
        const o = await om.objects.get({ namespace: "sunsched", key: "events.markers" });
        const pts = await om.telemetry.request(o, { start: 0, end: Date.parse("2100-01-01") });
        return pts.map((p) => [p.value, p.text]);
    }""")
    assert any(v == 3 and t.startswith("WARNING_HI") for v, t in got), got
    # the overlay plot has both series in its legend, the events on their own axis (0..5)
    page.wait_for_selector(".c-plot-legend:has-text('events (WARNING_LO and above)')", timeout=PLOT_TIMEOUT_MS)
    assert "battery_soc" in page.inner_text(".c-plot-legend")
    page.wait_for_selector(".gl-plot-label:has-text('event severity'), .gl-plot-y-label:has-text('event severity')",
                           state="attached", timeout=PLOT_TIMEOUT_MS)
    page.screenshot(path=str(shots_dir / "plot-events.png"))
    # harvested, used and curtailed power on one plot
    page.goto(f"{s.url}/console/#/browse/sunsched:root/sunsched:plots/sunsched:plot.power-flows"
              "?tc.mode=remote-clock&tc.timeSystem=utc&tc.startDelta=3600000&tc.endDelta=60000")
    page.wait_for_selector(".c-plot-legend:has-text('shunt_w')", timeout=PLOT_TIMEOUT_MS)
    legend = page.inner_text(".c-plot-legend")
    assert "solar_power_w" in legend and "load_w" in legend, legend
    page.screenshot(path=str(shots_dir / "plot-power-flows.png"))


def test_the_link_view_shows_passes_what_waits_for_the_next_and_the_files_received(console_stack, page,
                                                                                   shots_dir):
    s = console_stack
    req = urllib.request.Request(f"{s.url}/api/jobs", method="POST", data=json.dumps(
        {"kind": "synthetic", "priority": 3, "work_gpu_s": 5.0, "output_bytes": 4096}).encode(),
        headers={"Authorization": f"Bearer {s.tokens['olga']}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:  # a small job: its result comes down in the first pass
        assert r.status == 201
    login(page, s.url, s.tokens["vera"])
    page.goto(f"{s.url}/console/#/browse/sunsched:root/sunsched:view.link")
    page.wait_for_selector("[data-testid=link-passes] td:has-text('madrid')", timeout=PLOT_TIMEOUT_MS)
    page.wait_for_selector("[data-testid=link-files] tr[data-file]", timeout=JOB_TIMEOUT_MS)
    row = page.inner_text("[data-testid=link-files] tr[data-file]")
    assert "OK" in row.upper() or "COMPLETE" in row.upper() or "VERIFIED" in row.upper(), row
    assert "results pending" in page.inner_text("[data-testid=link-backlog]")
    # transfers in flight (the station archives each open CFDP transaction's progress): a
    # 4 kB result arrives within a tick, so here the section says none is in flight; the
    # progress itself is tested at the station (test_station_files) and the API (test_api)
    page.wait_for_selector("[data-testid=link-transfers-none], [data-testid=link-transfers] tr[data-seq]",
                           timeout=PLOT_TIMEOUT_MS)
    page.screenshot(path=str(shots_dir / "link.png"))
