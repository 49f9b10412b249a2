"""The ground API and CLI over the archive of a real (fast-mode) run: served while the
station writes it, then queried and its results fetched and verified through the CLI."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from flightsw.icd.linkauth import generate_keyring
from flightsw.icd.results import verify_result
from groundsw.api import create_app
from groundsw.cli import main
from groundsw.users import add_user
from sim.harness import RunConfig, run
from sim.scenario import load_scenario
from tests.groundsw.conftest import serve

POLL_S = 0.01
WAIT_FOR_ARCHIVE_S = 60.0


class LiveApi(threading.Thread):
    """Waits for the station's archive, serves the API over it, and asks /api/status over
    and over while the run goes on (and until stopped)."""

    def __init__(self, data: Path) -> None:
        super().__init__(daemon=True)
        self.data = data
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.answers: list[tuple[int, int | None]] = []  # (HTTP status, now_t_ns)
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            deadline = time.monotonic() + WAIT_FOR_ARCHIVE_S
            while not (self.data / "archive.sqlite").exists():
                if self.stop.is_set() or time.monotonic() > deadline:
                    return
                time.sleep(POLL_S)
            self.token = add_user(self.data, "otto", "operator")
            self.server, self.thread, self.url = serve(create_app(self.data, poll_s=0.05))
            self.ready.set()
            with httpx.Client(base_url=self.url, timeout=10) as http:
                while not self.stop.is_set():
                    r = http.get("/api/status", headers={"Authorization": f"Bearer {self.token}"})
                    self.answers.append((r.status_code, r.json()["now"]["t_ns"] if r.is_success else None))
                    time.sleep(POLL_S)
        except BaseException as exc:  # reported by the test, not lost in a thread
            self.failure = exc

    def close(self) -> None:
        self.stop.set()
        self.join(10)
        if self.ready.is_set():
            self.server.should_exit = True
            self.thread.join(10)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gcli")
    generate_keyring(tmp / "keys.json")
    out = tmp / "run"
    api = LiveApi(out / "ground")
    api.start()
    try:
        run(RunConfig(scenario=load_scenario("default"), scenario_ref="default", hours=1000 / 3600,
                      mode="fast", out_dir=out, plots=False, keys_path=tmp / "keys.json"))
        assert api.ready.wait(10), f"the API never started: {api.failure!r}"
        time.sleep(3 * POLL_S)  # a few answers after the run ended
        yield api
    finally:
        api.close()


def cli(live: LiveApi, capsys, *argv: str):
    code = main(["--url", live.url, "--token", live.token, "--json", *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_the_api_answered_while_the_station_wrote_the_archive(live) -> None:
    assert live.failure is None, repr(live.failure)
    codes = {code for code, _ in live.answers}
    assert codes == {200}, f"answers while the station wrote: {codes}"
    times = [t for _, t in live.answers]
    assert times == sorted(times), "sim time went backwards between answers"
    assert len(set(times)) >= 2, "no answer came while the station was still writing"


def test_every_released_job_is_listed(live, capsys) -> None:
    rows = cli(live, capsys, "job", "list")
    assert len(rows) >= 400, "the backlog of 400 jobs is released at the epoch"
    assert any(r["stage"] == "ARCHIVED" for r in rows), "some results were archived"


def test_a_result_is_fetched_verified_and_its_history_shown(live, capsys, tmp_path) -> None:
    job = cli(live, capsys, "job", "list", "--stage", "ARCHIVED")[0]
    got = cli(live, capsys, "result", "get", job["job_id"], "--out", str(tmp_path))
    data = Path(got["path"]).read_bytes()
    assert got["verified"] and verify_result(job["kind"], data, bytes.fromhex(got["sha256"]))[0]
    assert verify_result(job["kind"], data, bytes(32))[0] is False  # the digest matters
    stages = [s["stage"] for s in cli(live, capsys, "job", "show", job["job_id"])["stages"]]
    assert stages[-1] == "ARCHIVED", stages


def test_the_station_telemetry_and_status_are_queryable(live, capsys) -> None:
    st = cli(live, capsys, "status")
    assert st["epoch_utc"] and st["now"]["utc"], "the station did not write its epoch and clock"
    chans = cli(live, capsys, "channels")
    assert chans, "no telemetry archived"
    points = cli(live, capsys, "tm", chans[0]["channel"])["points"]
    assert points and all(p["utc"] for p in points)


def test_the_offline_archive_commands_still_work(live, capsys, tmp_path) -> None:
    path = str(live.data / "archive.sqlite")
    assert main(["archive", "jobs", "--archive", path, "--stage", "ARCHIVED", "--json"]) == 0
    job = json.loads(capsys.readouterr().out)[0]
    assert main(["archive", "result", job["job_id"], "--archive", path, "--out", str(tmp_path / "r.bin")]) == 0
    assert "verified" in capsys.readouterr().out and (tmp_path / "r.bin").stat().st_size > 0
    assert main(["archive", "stages", "job-nope", "--archive", path]) == 2
    assert "job-nope" in capsys.readouterr().err
    assert main(["archive", "jobs", "--archive", str(tmp_path / "missing.sqlite")]) == 2
    assert "--archive" in capsys.readouterr().err
