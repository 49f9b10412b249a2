"""Browser-test infrastructure for the operator console served at ``/console/``.

* ``chromium_path()`` finds the system Chromium (Debian's ``chromium`` package) and installs
  it with apt when it is missing and we may; a missing browser fails the test, never skips
  it, so a console test cannot pass by not running.
* ``browser`` (session): headless Playwright Chromium on that executable.
* ``page``: a fresh 1600x1000 context and page; ``page.errors`` lists every console error and
  uncaught page error as text, so tests can assert ``page.errors == []``.
* ``shots_dir`` (session): ``out/console-screenshots`` under the repo root, for screenshots.
* ``console_stack``: a live stack like ``tests/integration/test_operator_e2e.py``'s: a
  realtime-mode ``sim run`` whose first pass over Madrid opens about 545 s in, the station's
  archive, three users (olga operator, vera viewer, abe approver) and ``groundsw serve`` on a
  free loopback port. Its fault plan (``FAULTS``) fails board 5 at tick 60, so the first pass
  brings down an alarm (``ALARM_NAME``, a WARNING_HI from the executor) for the console.
  Parametrize ``HOURS`` indirectly: ``@pytest.mark.parametrize("console_stack", [0.5],
  indirect=True)``; the default is 0.2 h (720 sim s).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live import free_port, stop_all, wait_for

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]  # the folder of pyproject.toml
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
APT_TIMEOUT_S = 600
SPEED = 30.0  # sim seconds per wall second
DEFAULT_HOURS = 0.2  # 720 sim s: the first pass runs from about 545 s to the end
SCENARIO = """
base = "default"
epoch_utc = "2026-12-01T00:06:30Z"
"""
# one board fails for good a minute in: the executor takes it out of service with a WARNING_HI
# event, which reaches the ground at the first pass (~545 s sim, ~18 s wall) as an alarm
FAULTS = """
[[board]]
board = 5
tick = 60
fault = "fail"
"""
ALARM_NAME = "executor.board_out_of_service"
ALARM_SOURCE = "executor"
ALARM_SEVERITY = "WARNING_HI"
USERS = {"olga": "operator", "vera": "viewer", "abe": "approver"}
VIEWPORT = {"width": 1600, "height": 1000}
API_UP_TIMEOUT_S = 120  # a cold venv compiles fastapi/pydantic first


def _found_chromium() -> str | None:
    return next((p for p in CHROMIUM_PATHS if os.access(p, os.X_OK)), None)


def chromium_path() -> str:
    """The system Chromium's path; installs Debian's ``chromium`` with apt-get if it is missing
    and we are root. Fails the calling test (with apt's output tail) when it is still missing."""
    found = _found_chromium()
    if found:
        return found
    log = ""
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for args in (["apt-get", "update"],
                     ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
            try:
                p = subprocess.run(args, capture_output=True, text=True, timeout=APT_TIMEOUT_S, env=env)
                log += f"$ {' '.join(args)} (rc {p.returncode})\n{p.stdout}{p.stderr}"
            except subprocess.TimeoutExpired as e:
                log += f"$ {' '.join(args)}: timed out after {APT_TIMEOUT_S} s\n{e.stdout or ''}{e.stderr or ''}"
                break
        found = _found_chromium()
        if found:
            return found
    else:
        log = f"not root (euid {os.geteuid()}) or no apt-get: cannot install chromium"
    pytest.fail(f"no system Chromium at {' or '.join(CHROMIUM_PATHS)}; install Debian's `chromium`.\n"
                f"{log[-3000:]}", pytrace=False)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                               args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    """A new page in its own context; ``page.errors`` collects console errors and page errors."""
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    errors: list[str] = []
    pg.errors = errors
    pg.on("console", lambda m: errors.append(f"console.error: {m.text} @ {m.location}")
          if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="session")
def shots_dir() -> Path:
    d = REPO / "out" / "console-screenshots"
    d.mkdir(parents=True, exist_ok=True)
    return d


@dataclass
class Stack:
    """A live stack: the API's base URL, a bearer token per user name, the sim process, and
    the test's temporary folder (the run's output is under ``tmp / "run"``)."""

    url: str
    tokens: dict[str, str]
    sim: subprocess.Popen
    tmp: Path


def _api_up(url: str, token: str) -> bool:
    req = urllib.request.Request(f"{url}/api/status", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture
def console_stack(request, tmp_path):
    hours = getattr(request, "param", DEFAULT_HOURS)
    scenario = tmp_path / "early-pass.toml"
    scenario.write_text(SCENARIO)
    faults = tmp_path / "board-fails.toml"
    faults.write_text(FAULTS)
    out = tmp_path / "run"
    ground = out / "ground"
    sim = subprocess.Popen([str(BIN / "sim"), "run", "--scenario", str(scenario), "--hours", str(hours),
                            "--mode", "realtime", "--speed", str(SPEED), "--faults", str(faults),
                            "--out", str(out), "--json", "--no-plots"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    procs = [sim]
    try:
        wait_for("the station's archive", lambda: (ground / "archive.sqlite").exists(), 60, 0.05)
        tokens = {}
        for name, role in USERS.items():
            made = subprocess.run([str(BIN / "groundsw"), "--json", "users", "add", name, "--role", role,
                                   "--data", str(ground)], capture_output=True, text=True, timeout=60)
            assert made.returncode == 0, f"users add {name}: {made.stderr}"
            tokens[name] = json.loads(made.stdout)["token"]
        port = free_port()
        api = subprocess.Popen([str(BIN / "groundsw"), "serve", "--host", "127.0.0.1", "--port", str(port),
                                "--data", str(ground)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(api)
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if api.poll() is not None:
                raise AssertionError(f"groundsw serve exited with rc {api.returncode}:\n{api.stderr.read()[-3000:]}")
            return _api_up(url, tokens["vera"])

        wait_for("the API", up, API_UP_TIMEOUT_S, 0.1)
        yield Stack(url=url, tokens=tokens, sim=sim, tmp=tmp_path)
    finally:
        stop_all(procs)
