"""A real ground API on loopback: uvicorn in a thread over an archive filled through the
station-side writers, with one user of each role (two approvers, for the two-person rule)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn
from hypothesis import strategies as st

from flightsw.icd.results import expected_synthetic, pack_matmul_result, sha256_digest
from groundsw.api import create_app
from groundsw.archive import Archive
from groundsw.jobspec import FIELDS, REQUIRED
from groundsw.users import add_user

S = 1_000_000_000  # [ns]
EPOCH_UTC = "2025-03-20T00:00:00Z"
NOW_S = 1000
BOARD_COUNT = 8
BOARD_MAX_POWER_W = 300.0
TM_CHANNEL = "power.battery_soc"
TM_SAMPLES = 1000  # one per second from t = 0
USERS = {"vera": "viewer", "otto": "operator", "alice": "approver", "bob": "approver"}
STARTUP_TIMEOUT_S = 10.0


# ------------------------------------------------------------------ hypothesis strategies
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10)

# values that pass, per field: mixed with arbitrary JSON, they take the validator deep
GOOD_VALUES = {
    "kind": ["matmul", "synthetic"], "priority": [0, 5, 9], "work_gpu_s": [0.001, 1, 3600.5],
    "boards_needed": [1, 2, BOARD_COUNT], "deadline_in_s": [1, 3600.5],
    "deadline_utc": ["2025-03-21T00:00:00Z", "2025-03-20T01:00:00+01:00"],
    "checkpoint_interval_s": [0, 0.5, 600], "input_bytes": [0, 1024], "output_bytes": [0, 4096],
    "seed": [0, 2**32 - 1], "params": [{}, {"n": 4}, {"n": 512, "dual": True}, {"dual": False}],
}


def _value(field: str, good_weight: int) -> st.SearchStrategy:
    """A good value ``good_weight`` times in ``good_weight + 1``, else any JSON."""
    good = st.sampled_from(GOOD_VALUES[field])
    return st.sampled_from([True] * good_weight + [False]).flatmap(lambda g: good if g else json_values)


def spec_like() -> st.SearchStrategy[dict]:
    """Job-spec-shaped objects: the required fields mostly good, now and then one missing;
    each other field absent, a good value or any JSON; sometimes an unknown key. About a
    sixth pass validation, so both sides of the validator are exercised."""
    required = st.fixed_dictionaries({f: _value(f, 6) for f in REQUIRED})
    optional = st.fixed_dictionaries({}, optional={f: _value(f, 4) for f in FIELDS if f not in REQUIRED})
    extra = st.dictionaries(st.text(max_size=8), json_values, max_size=1)
    drop = st.sampled_from([None] * 8 + list(REQUIRED))
    add_extra = st.sampled_from([False] * 5 + [True])

    def build(req: dict, opt: dict, ext: dict, gone: str | None, add: bool) -> dict:
        out = {**req, **opt, **(ext if add else {})}
        out.pop(gone, None)
        return out

    return st.builds(build, required, optional, extra, drop, add_extra)


@dataclass
class Ground:
    url: str
    data: Path
    tokens: dict[str, str]

    @property
    def archive_path(self) -> Path:
        return self.data / "archive.sqlite"

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def open_archive(self) -> Archive:
        return Archive(self.archive_path)

    def count(self, table: str) -> int:
        a = self.open_archive()
        try:
            return a.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        finally:
            a.close()


def matmul_result(n: int = 4, seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    c = a @ b
    return pack_matmul_result(c, a @ b.sum(axis=1), a.sum(axis=0) @ b)


def fill(arch: Archive) -> None:
    """What a station would have written by t = NOW_S: meta, jobs and results, telemetry,
    events of every severity, files, passes."""
    with arch.batch():
        arch.set_meta(epoch_utc=EPOCH_UTC, now_t_ns=NOW_S * S, tick_s=1.0, board_count=BOARD_COUNT,
                      board_max_power_w=BOARD_MAX_POWER_W, scenario="test")
        arch.add_job("job-s1", "synthetic", 3, -1, 10.0, b"", 0, spec_json={"kind": "synthetic"})
        arch.add_job("job-m1", "matmul", 5, 5000 * S, 20.0, b"", 0)
        arch.add_job("job-q1", "synthetic", 1, -1, 5.0, b"", 0, stage="QUEUED")
        syn = expected_synthetic("job-s1", 7, 256)
        arch.store_result("job-s1", "synthetic", syn, sha256_digest(syn), 500 * S)
        mm = matmul_result()
        arch.store_result("job-m1", "matmul", mm, sha256_digest(mm), 600 * S)
        arch.add_telemetry((TM_CHANNEL, t * S, 0.5 + t / 10_000) for t in range(TM_SAMPLES))
        arch.add_telemetry([("thermal.radiator_temp_c", t * S, 20.0) for t in range(0, TM_SAMPLES, 100)])
        arch.add_events([(t * 100 * S, "power", sev, f"power.e{t}", f"event {t}")
                         for t, sev in enumerate(["FATAL", "WARNING_HI", "WARNING_LO", "COMMAND",
                                                  "ACTIVITY_HI", "ACTIVITY_LO", "DIAGNOSTIC"])])
        arch.add_file("job-s1.bin", syn, 0x1234, 500 * S, job_id="job-s1")
        arch.add_file("log-0001.txt", b"partial", 0, 700 * S, status="rejected", reason="checksum mismatch")
        arch.add_predicted_passes([("svalbard", 100 * S, 700 * S, 45.0), ("svalbard", 6000 * S, 6600 * S, 12.0)])
        arch.open_pass("svalbard", 101 * S)
        arch.close_pass("svalbard", 699 * S, 123_456, 789)


def serve(app, timeout_s: float = STARTUP_TIMEOUT_S) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Run ``app`` on a free loopback port in a thread; returns (server, thread, base url)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY: see cli.serve
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def ground(tmp_path_factory) -> Iterator[Ground]:
    data = tmp_path_factory.mktemp("ground")
    tokens = {name: add_user(data, name, role) for name, role in USERS.items()}
    arch = Archive(data / "archive.sqlite")
    fill(arch)
    arch.close()
    server, thread, url = serve(create_app(data, poll_s=0.05))
    yield Ground(url, data, tokens)
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def http(ground: Ground) -> Iterator[httpx.Client]:
    """One client per module: building one loads the CA bundle (~30 ms)."""
    with httpx.Client(base_url=ground.url, timeout=10) as client:
        yield client
