"""The ground station (groundsw/station.py): scenario and operator jobs, against a real
sqlite archive and the flight's own link pieces.

This module also holds the harness the other ``test_station_*`` modules share:

- :class:`Spacecraft`, the far end of the link built from flight code: every uplink frame
  must pass a ``TcVerifier`` holding the station's keyring (a refused frame fails the
  test), telemetry is built with ``encode_tm`` and per-APID sequence counters as comms
  builds it, and files go down through comms' ``ResultFiles`` around a real CFDP
  ``FileSender``, whose FINISHED answers become ResultAck / ResultNak as on board;
- :class:`Ground`, a Station on a fresh archive with that spacecraft at the far end, a
  second connection to the archive file (what the console reads) and a third one for
  operator requests (what the API writes).

Assertions read the archive through its own sqlite connection: the effects tested are
the rows another process would see.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from flightsw.apps.comms.core import CommsTable
from flightsw.apps.comms.files import ResultFiles
from flightsw.icd.linkauth import Keyring
from flightsw.icd.messages import (
    AppCommand,
    CommandResponse,
    ContactState,
    DownlinkFrame,
    Envelope,
    Event,
    JobAck,
    JobSpec,
    JobState,
    Message,
    ResultData,
    UplinkFrame,
)
from flightsw.icd.spacelink import (
    APIDS,
    LinkError,
    SeqCounters,
    TcSigner,
    TcVerifier,
    Telecommand,
    encode_tc,
    encode_tm,
)
from groundsw.archive import Archive
from groundsw.station import POLL_EVERY_TICKS, Station

S = 1_000_000_000  # [ns] per 1 s tick
EPOCH_UTC = "2026-03-20T00:00:00+00:00"
RESEND_TICKS = 5
UPLINK_BPS = 1e6  # [bit/s] plenty for a few frames per tick
DOWNLINK_BPS = 1e7  # [bit/s]
FILE_BYTES_PER_TICK = 200_000  # [B] the spacecraft's file budget per tick in contact
COMMS = APIDS["comms"]
EXECUTOR = APIDS["executor"]
KEY_ID_AT = slice(11, 13)  # key id u16 after the 6-byte primary and 5-byte PUS-C TC headers
AUTH_SEQ_AT = slice(13, 17)  # anti-replay number u32


# ------------------------------------------------------------------------ builders


def spec(
    job_id: str = "j1",
    release_s: int = 0,
    priority: int = 0,
    deadline_s: int | None = None,
    work_gpu_s: float = 10.0,
    kind: str = "synthetic",
    params: dict | None = None,
    output_bytes: int = 64,
    seed: int = 7,
) -> JobSpec:
    return JobSpec(
        job_id=job_id,
        kind=kind,
        priority=priority,
        deadline_t_ns=-1 if deadline_s is None else deadline_s * S,
        boards_needed=1,
        work_gpu_s=work_gpu_s,
        checkpoint_interval_s=0.0,
        input_bytes=0,
        output_bytes=output_bytes,
        release_t_ns=release_s * S,
        seed=seed,
        params=params or {},
    )


def operator_spec(**changes) -> dict:
    """JobSpec fields as the API stores them (validated, without job_id and release_t_ns)."""
    fields = {
        "kind": "synthetic",
        "priority": 2,
        "deadline_t_ns": -1,
        "boards_needed": 1,
        "work_gpu_s": 5.0,
        "checkpoint_interval_s": 0.0,
        "input_bytes": 0,
        "output_bytes": 64,
        "seed": 3,
        "params": {},
    }
    fields.update(changes)
    return fields


def contact(up: bool = True, station: str = "madrid", uplink_bps: float = UPLINK_BPS) -> Message:
    body = ContactState(
        up, station if up else "", DOWNLINK_BPS if up else 0.0, uplink_bps if up else 0.0
    )
    return Message(Envelope(body.KIND, body.VERSION, "world", 1, 0, 0, "station"), body)


def downlink_frame(raw: bytes, t_ns: int) -> Message:
    """``raw`` as the world's radio delivers it to the station."""
    body = DownlinkFrame(raw)
    return Message(Envelope(body.KIND, body.VERSION, "world", 1, t_ns // S, t_ns, "station"), body)


def key_id_of(frame: bytes) -> int:
    return int.from_bytes(frame[KEY_ID_AT], "big")


def auth_seq_of(frame: bytes) -> int:
    return int.from_bytes(frame[AUTH_SEQ_AT], "big")


# ---------------------------------------------------------------------- the spacecraft


class Spacecraft:
    """The far end of the link, made of the flight's own pieces (see the module docstring)."""

    def __init__(self, keyring: Keyring) -> None:
        self.verifier = TcVerifier(dict(keyring.keys), keyring.active_key_id)
        self.seq = SeqCounters()
        self.files = ResultFiles(CommsTable().cfdp(), max_queue_bytes=64 * 1024 * 1024)
        self.link_up = False
        self.to_executor: list = []  # what comms told the executor: ResultAck / ResultNak
        self.damage = None  # a test's function over each tick's file frames: the link's errors
        self.job_tcs: dict[str, Telecommand] = {}  # job id -> the latest TC that carried it
        self.command_tcs: dict[int, Telecommand] = {}  # cmd_id -> the latest TC
        self._n = 0

    # -- uplink
    def receive(self, outs: Sequence[tuple[object, str]], t_ns: int) -> list[Telecommand]:
        """Every uplink frame in ``outs``, checked as comms checks it; PDUs go to the sender."""
        tcs = []
        for body, dst in outs:
            if not isinstance(body, UplinkFrame):
                continue
            assert dst == "world", f"an uplink frame addressed to {dst!r}, not the world's radio"
            try:
                tc = self.verifier.decode(body.data)
            except LinkError as exc:
                pytest.fail(f"the spacecraft refused an uplink frame: {exc}")
            if tc.pdu is not None:
                self.files.sender.handle(tc.pdu, t_ns)
            elif isinstance(tc.message.body, JobSpec):
                self.job_tcs[tc.message.body.job_id] = tc
            elif isinstance(tc.message.body, AppCommand):
                self.command_tcs[tc.message.body.cmd_id] = tc
            tcs.append(tc)
        self.to_executor += self.files.finished()
        return tcs

    # -- downlink
    def tm(
        self,
        body,
        src: str,
        t_ns: int,
        request_id: int = 0,
        subtype: int | None = None,
        apid: int | None = None,
        seq_count: int | None = None,
    ) -> Message:
        """``body`` from ``src`` as comms sends it: one PUS-C TM packet on the app's APID
        (``seq_count``: that packet count instead of the next one)."""
        self._n += 1
        if apid is None:
            apid = (
                APIDS.get(src, COMMS)
                if src != "world"
                else (APIDS["thermal"] if body.KIND == 201 else APIDS["power"])
            )
        msg = Message(Envelope(body.KIND, body.VERSION, src, self._n, t_ns // S, t_ns, ""), body)
        count = self.seq.next(apid) if seq_count is None else seq_count
        raw = encode_tm(
            msg,
            apid=apid,
            seq_count=count,
            t_ns=t_ns,
            epoch_utc=EPOCH_UTC,
            request_id=request_id,
            subtype=subtype,
        )
        return downlink_frame(raw, t_ns)

    def report(self, body: JobAck | JobState, t_ns: int) -> Message:
        """The executor's verification report, naming the TC that carried the job."""
        tc = self.job_tcs.get(body.job_id)
        return self.tm(body, "executor", t_ns, request_id=tc.request_id if tc else 0)

    def accepted(self, cmd_id: int, t_ns: int) -> Message:
        """Comms' bare PUS 1/1 acceptance of the latest TC that carried ``cmd_id``."""
        raw = encode_tm(
            None,
            apid=COMMS,
            seq_count=self.seq.next(COMMS),
            t_ns=t_ns,
            epoch_utc=EPOCH_UTC,
            request_id=self.command_tcs[cmd_id].request_id,
            subtype=1,
        )
        return downlink_frame(raw, t_ns)

    def answer(
        self,
        cmd_id: int,
        t_ns: int,
        status: str = "OK",
        detail: str = "done",
        source: str = "ground",
    ) -> Message:
        """The target app's CommandResponse (PUS 1/7 when OK, else 1/8)."""
        tc = self.command_tcs[cmd_id]
        cmd: AppCommand = tc.message.body
        resp = CommandResponse(cmd.opcode, status, detail, cmd.cmd_id, source)
        return self.tm(resp, cmd.target, t_ns, request_id=tc.request_id)

    def offer_result(self, result: ResultData, t_ns: int) -> None:
        """The executor hands comms a result: it goes down as a CFDP class 2 file."""
        msg = Message(
            Envelope(result.KIND, result.VERSION, "executor", 1, t_ns // S, t_ns, ""), result
        )
        assert self.files.offer(msg, t_ns), "comms refused the result (window full)"

    def offer_log(self, events: Sequence[tuple[str, Event]], tick: int) -> None:
        """Comms gathers ``(src, event)`` pairs and sends them as one log file."""
        for src, ev in events:
            self.files.log_event(
                Message(Envelope(ev.KIND, ev.VERSION, src, 1, tick, tick * S, ""), ev)
            )
        self.files.close_log(tick, tick * S)

    def file_frames(self, t_ns: int) -> list[Message]:
        """What the file sender sends this tick (nothing while the link is down)."""
        if not self.link_up:
            self.files.sender.poll(t_ns, 0, False)
            return []
        frames = [
            downlink_frame(
                encode_tm(
                    pdu, apid=COMMS, seq_count=self.seq.next(COMMS), t_ns=t_ns, epoch_utc=EPOCH_UTC
                ),
                t_ns,
            )
            for pdu in self.files.sender.poll(t_ns, FILE_BYTES_PER_TICK, True)
        ]
        return frames if self.damage is None else self.damage(frames)


# -------------------------------------------------------------------------- the ground


@dataclass
class Tick:
    """One station step: what it produced and the telecommands the spacecraft took."""

    outs: list[tuple[object, str]]
    tcs: list[Telecommand]

    @property
    def bodies(self) -> list:
        return [tc.message.body for tc in self.tcs if tc.message is not None]

    @property
    def jobs(self) -> list[str]:
        return [b.job_id for b in self.bodies if isinstance(b, JobSpec)]

    @property
    def commands(self) -> list[AppCommand]:
        return [b for b in self.bodies if isinstance(b, AppCommand)]

    @property
    def pdus(self) -> list[bytes]:
        return [tc.pdu for tc in self.tcs if tc.pdu is not None]

    @property
    def frames(self) -> list[bytes]:
        return [b.data for b, _ in self.outs if isinstance(b, UplinkFrame)]

    @property
    def events(self) -> list[Event]:
        return [b for b, _ in self.outs if isinstance(b, Event)]


class Ground:
    """A Station on ``path`` with a :class:`Spacecraft` at the far end of the link."""

    def __init__(
        self, path: Path, keyring: Keyring, jobs: Iterable[JobSpec] = (), **station_kw
    ) -> None:
        station_kw.setdefault("resend_after_ticks", RESEND_TICKS)
        self.path = path
        self.station = Station(path, list(jobs), keyring, EPOCH_UTC, **station_kw)
        self.sc = Spacecraft(keyring)
        self.db = sqlite3.connect(path)  # what the console reads
        self.api = Archive(path)  # what the API writes: operator jobs, commands, cancels

    def step(self, tick: int, inbox: Iterable[Message] = (), verify: bool = True) -> Tick:
        """One station step at ``tick`` (1 s ticks); the spacecraft's file PDUs of the tick
        go down with ``inbox``, and what goes up is checked and taken by the spacecraft
        (``verify=False``: left to the test, in ``Tick.frames``)."""
        t_ns = tick * S
        inbox = list(inbox)
        for m in inbox:
            if isinstance(m.body, ContactState):
                self.sc.link_up = m.body.in_contact
        outs = self.station.step(tick, t_ns, inbox + self.sc.file_frames(t_ns))
        return Tick(outs, self.sc.receive(outs, t_ns) if verify else [])

    def run(
        self,
        ticks: Iterable[int],
        inbox_at: dict[int, list[Message]] | None = None,
        verify: bool = True,
    ) -> dict[int, Tick]:
        """:meth:`step` over ``ticks``, with ``inbox_at[tick]`` delivered at its tick."""
        return {tick: self.step(tick, (inbox_at or {}).get(tick, ()), verify) for tick in ticks}

    def rows(self, sql: str, *params) -> list[tuple]:
        return self.db.execute(sql, params).fetchall()

    def job_row(self, job_id: str) -> dict:
        cur = self.db.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,))
        cols = [c[0] for c in cur.description]
        row = cur.fetchone()
        assert row is not None, f"no jobs row for {job_id!r}"
        return dict(zip(cols, row, strict=True))

    def stages(self, job_id: str) -> list[tuple[str, int, str]]:
        return self.rows(
            "SELECT stage, t_ns, reason FROM stages WHERE job_id = ? ORDER BY id", job_id
        )

    def stage_names(self, job_id: str) -> list[str]:
        return [s for s, _, _ in self.stages(job_id)]

    def close(self) -> None:
        self.db.close()
        self.api.close()
        self.station.close()


def station_grounds(tmp_path: Path, link_keyring):
    """The body of the station tests' ``ground`` fixture (shared by their modules):
    ``ground(jobs, **station_kw)`` -> a fresh :class:`Ground`; all closed after the test."""
    made: list[Ground] = []

    def make(jobs: Iterable[JobSpec] = (), **station_kw) -> Ground:
        g = Ground(
            tmp_path / f"ground{len(made)}" / "archive.sqlite", link_keyring, jobs, **station_kw
        )
        made.append(g)
        return g

    yield make
    for g in made:
        g.close()


@pytest.fixture
def ground(tmp_path: Path, link_keyring):
    yield from station_grounds(tmp_path, link_keyring)


# ============================================================================ release


def test_scenario_jobs_are_queued_at_their_release_time(ground) -> None:
    g = ground([spec("early", 0), spec("late", 5)])
    g.step(0)
    assert g.rows("SELECT job_id, stage, queued_t_ns FROM jobs") == [("early", "QUEUED", 0)], (
        "at tick 0 only the job released at 0 must be queued"
    )
    g.run(range(1, 5))
    assert len(g.rows("SELECT job_id FROM jobs")) == 1, "a job was queued before its release time"
    g.step(5)
    late = g.job_row("late")
    assert (late["stage"], late["queued_t_ns"], late["released_t_ns"]) == ("QUEUED", 5 * S, None), (
        late
    )
    assert json.loads(late["spec_json"])["seed"] == 7, "the spec is not kept for the console"
    assert late["origin"] == "scenario"


def test_nothing_is_released_or_sent_without_a_contact(ground) -> None:
    g = ground([spec("j1")])
    assert g.step(0).tcs == [], "sent before any contact state"
    for tick in range(1, 12):
        assert g.step(tick, [contact(up=False)] if tick == 1 else []).tcs == [], (
            f"sent out of contact at tick {tick}"
        )
    assert g.stage_names("j1") == ["QUEUED"], "a job out of contact left QUEUED"
    assert g.job_row("j1")["sent_t_ns"] is None


def test_queued_jobs_are_released_and_sent_in_contact(ground) -> None:
    jobs = [spec("j1"), spec("j2", priority=3, deadline_s=600)]
    g = ground(jobs)
    g.step(0)
    t = g.step(2, [contact()])
    assert t.bodies == jobs, "the specs that went up differ from the queued ones"
    assert all(tc.apid == EXECUTOR and (tc.service, tc.subtype) == (200, 1) for tc in t.tcs), (
        "a job must go up as PUS 200/1 on the executor's APID"
    )
    assert all((tc.message.env.src, tc.message.env.dst) == ("ground", "sat") for tc in t.tcs), (
        "wrong link addresses"
    )
    counts = [tc.seq_count for tc in t.tcs]
    assert counts == sorted(set(counts)), f"packet sequence counts not increasing: {counts}"
    for job in jobs:
        assert g.stages(job.job_id) == [
            ("QUEUED", 0, ""),
            ("RELEASED", 2 * S, ""),
            ("SENT", 2 * S, ""),
        ]
        row = g.job_row(job.job_id)
        assert (row["released_t_ns"], row["sent_t_ns"]) == (2 * S, 2 * S), row
        assert row["stage_timeout_t_ns"] == (2 + RESEND_TICKS) * S, (
            "SENT must time out at the resend"
        )


def test_a_job_is_not_sent_before_its_release(ground) -> None:
    g = ground([spec("later", release_s=3)])
    for tick in range(3):
        assert g.step(tick, [contact()] if tick == 0 else []).tcs == [], (
            f"sent at tick {tick}, before its release at 3"
        )
    assert g.step(3).jobs == ["later"], "not sent at its release in contact"


def test_uploads_stay_within_the_uplink_byte_budget(ground, link_keyring) -> None:
    jobs = [spec(f"job-{i:03d}") for i in range(30)]
    one = encode_tc(
        Message(Envelope(JobSpec.KIND, JobSpec.VERSION, "ground", 0, 0, 0, "sat"), jobs[0]),
        apid=EXECUTOR,
        seq_count=0,
        signer=TcSigner(link_keyring.active),
    )
    budget_bytes = 2.5 * len(one)  # per 1 s tick
    g = ground(jobs, resend_after_ticks=1000)  # no resends inside the test
    sent_bytes, sent_ids, largest, ticks_sending = 0, [], 0, 0
    for tick in range(20):
        t = g.step(tick, [contact(uplink_bps=budget_bytes * 8)] if tick == 0 else [])
        sent_bytes += sum(map(len, t.frames))
        largest = max([largest, *map(len, t.frames)])
        sent_ids += t.jobs
        ticks_sending += bool(t.jobs)
        assert sent_bytes <= (tick + 1) * budget_bytes + largest, (
            f"{sent_bytes} bytes by tick {tick}: more than the budget plus one frame"
        )
    assert sorted(sent_ids) == [j.job_id for j in jobs], "not every job went up exactly once"
    assert ticks_sending >= 10, f"30 jobs at 2.5 a tick went up in only {ticks_sending} ticks"
    (n_sent,) = g.rows("SELECT COUNT(*) FROM jobs WHERE stage = 'SENT'")[0]
    assert n_sent == 30


# ============================================================================ resends


def test_an_unanswered_job_is_resent_after_resend_after_ticks(ground) -> None:
    g = ground([spec("j1")])
    sent = {tick: t for tick, t in g.run(range(12), {0: [contact()]}).items() if t.jobs}
    assert list(sent) == [0, RESEND_TICKS, 2 * RESEND_TICKS], f"sent at ticks {list(sent)}"
    seqs = [tc.auth_seq for t in sent.values() for tc in t.tcs]
    assert seqs == sorted(set(seqs)), f"a resend reused an anti-replay number: {seqs}"
    assert g.stage_names("j1").count("SENT") == 1, "a resend recorded another SENT stage"


@pytest.mark.parametrize(
    "answer",
    [JobAck("j1", True, ""), JobAck("j1", False, "full"), JobState("j1", "STARTED", "", 0.0)],
    ids=["accepted", "refused", "state"],
)
def test_a_job_the_spacecraft_answered_for_is_not_resent(ground, answer) -> None:
    g = ground([spec("j1")])
    g.step(0, [contact()])
    g.step(2, [g.sc.report(answer, 1 * S)])
    resent = [tick for tick, t in g.run(range(3, 4 * RESEND_TICKS)).items() if t.jobs]
    assert resent == [], f"resent at {resent} after the spacecraft answered"


# ============================================================================ stages


def test_answers_from_the_spacecraft_set_the_job_stage(ground) -> None:
    g = ground([spec("j1"), spec("j2")])
    g.step(0, [contact()])
    g.step(
        1,
        [g.sc.report(JobAck("j1", True, "stored"), S), g.sc.report(JobAck("j2", False, "full"), S)],
    )
    got = {r[0]: (r[1], r[2]) for r in g.rows("SELECT job_id, stage, reason FROM jobs")}
    assert got == {"j1": ("ACCEPTED", "stored"), "j2": ("REJECTED", "full")}, got
    assert g.job_row("j1")["accepted_t_ns"] == S


def test_a_late_report_of_an_earlier_stage_is_ignored(ground) -> None:
    g = ground([spec("j1")])
    g.step(0, [contact()])
    g.step(
        1,
        [
            g.sc.report(JobState("j1", "COMPLETED", "", 10.0), S),
            g.sc.report(JobState("j1", "STARTED", "", 0.0), S),
        ],
    )
    assert g.job_row("j1")["stage"] == "COMPLETED", "a late STARTED moved the job back"
    assert g.stage_names("j1")[-1] == "COMPLETED" and "STARTED" not in g.stage_names("j1")


def test_running_stages_alternate_and_a_repeated_stage_is_recorded_once(ground) -> None:
    g = ground([spec("j1")])
    g.step(0, [contact()])
    g.step(
        1,
        [
            g.sc.report(JobAck("j1", True, ""), S),
            g.sc.report(JobState("j1", "ACCEPTED", "", 0.0), S),
        ],
    )
    for i, stage in enumerate(("STARTED", "PROGRESS", "PREEMPTED", "STARTED", "ACCEPTED")):
        g.step(2 + i, [g.sc.report(JobState("j1", stage, "", 1.0), (2 + i) * S)])
    assert g.stage_names("j1") == [
        "QUEUED",
        "RELEASED",
        "SENT",
        "ACCEPTED",
        "STARTED",
        "PROGRESS",
        "PREEMPTED",
        "STARTED",
    ]


def test_a_final_stage_never_moves_back(ground) -> None:
    g = ground([spec("j1")])
    g.step(0, [contact()])
    g.step(1, [g.sc.report(JobState("j1", "FAILED", "payload error", 1.0), S)])
    g.step(
        2,
        [
            g.sc.report(JobState("j1", "STARTED", "", 0.0), 2 * S),
            g.sc.report(JobAck("j1", True, ""), 2 * S),
        ],
    )
    assert (g.job_row("j1")["stage"], g.stage_names("j1")[-1]) == ("FAILED", "FAILED")


def test_a_stage_is_recorded_at_its_time_on_board(ground) -> None:
    g = ground([spec("j1")])
    g.step(0, [contact()])
    g.step(
        50, [g.sc.report(JobState("j1", "STARTED", "", 0.0, 0, 12 * S), 50 * S)]
    )  # reported late
    g.step(51, [g.sc.report(JobState("j1", "PREEMPTED", "", 1.0), 51 * S)])  # no time: when it came
    times = {s: t for s, t, _ in g.stages("j1")}
    assert (times["STARTED"], times["PREEMPTED"]) == (12 * S, 51 * S), times
    assert g.job_row("j1")["started_t_ns"] == 12 * S


def test_a_report_about_an_unknown_job_is_reported_and_stores_nothing(ground) -> None:
    g = ground([spec("j1")])
    (ev,) = g.step(0, [g.sc.tm(JobAck("ghost", True, ""), "executor", 0)]).events
    assert ev.name == "station.unknown_job" and "ghost" in ev.text, ev
    assert g.rows("SELECT job_id FROM stages WHERE job_id = 'ghost'") == []


# ====================================================================== operator jobs


def test_an_operator_job_goes_up_after_the_next_poll(ground) -> None:
    g = ground()
    g.step(0, [contact()])
    g.step(1)
    job_id = g.api.submit_job(operator_spec(priority=4), "otto")
    for tick in range(2, POLL_EVERY_TICKS):
        assert g.step(tick).tcs == [], f"an operator job went up at tick {tick}, before the poll"
    (body,) = g.step(POLL_EVERY_TICKS).bodies
    assert body == JobSpec(
        job_id=job_id, release_t_ns=POLL_EVERY_TICKS * S, **operator_spec(priority=4)
    ), body
    assert g.stages(job_id) == [
        ("QUEUED", 0, "submitted by otto"),
        ("RELEASED", POLL_EVERY_TICKS * S, ""),
        ("SENT", POLL_EVERY_TICKS * S, ""),
    ]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"priority": 99}, "priority"),
        ({"params": {"n": [1, 2]}}, "params"),
        ({"colour": "red"}, "colour"),
    ],
    ids=["out of range", "nested param", "unknown field"],
)
def test_an_operator_job_the_flight_would_refuse_is_rejected_on_the_ground(
    ground, changes, field
) -> None:
    g = ground()
    job_id = g.api.submit_job(operator_spec(**changes), "otto")
    sent = [t for t in g.run(range(3 * POLL_EVERY_TICKS), {0: [contact()]}).values() if t.jobs]
    assert sent == [], "a job the flight would refuse went up"
    row = g.job_row(job_id)
    assert row["stage"] == "REJECTED", row
    assert row["reason"].startswith("ground: spec:") and field in row["reason"], row["reason"]


def test_cancelling_a_job_not_yet_sent_cancels_it_on_the_ground(ground) -> None:
    g = ground([spec("j1")])
    g.step(0)  # queued, out of contact
    assert g.api.request_cancel("j1", "otto") == "requested"
    g.run(range(1, POLL_EVERY_TICKS + 1))
    assert g.stages("j1")[-1] == (
        "CANCELLED",
        POLL_EVERY_TICKS * S,
        "cancelled by an operator before upload",
    )
    sent = [tick for tick, t in g.run(range(11, 30), {11: [contact()]}).items() if t.tcs]
    assert sent == [], f"a job cancelled on the ground went up at {sent}"
    assert g.rows("SELECT COUNT(*) FROM commands")[0][0] == 0, (
        "a cancel command for a job never sent"
    )


def test_cancelling_a_sent_job_sends_exec_cancel_job(ground) -> None:
    g = ground([spec("j1")], resend_after_ticks=1000)
    assert g.step(0, [contact()]).jobs == ["j1"]
    assert g.api.request_cancel("j1", "otto") == "requested"
    g.run(range(1, POLL_EVERY_TICKS + 1))
    (cmd,) = g.api.commands()
    assert (cmd["name"], cmd["target"], cmd["opcode"], cmd["args"], cmd["origin"]) == (
        "executor.EXEC_CANCEL_JOB",
        "executor",
        48,
        {"job_id": "j1"},
        "station",
    ), cmd
    assert g.job_row("j1")["stage"] == "SENT", "the ground cancelled a job the spacecraft holds"
    assert g.job_row("j1")["cancel_requested"] == 0, "the cancel request was not cleared"
    ups = [
        t
        for t in g.run(range(POLL_EVERY_TICKS + 1, 2 * POLL_EVERY_TICKS + 1)).values()
        if t.commands
    ]
    (up,) = [c for t in ups for c in t.commands]
    assert (up.target, up.opcode, up.args, up.cmd_id) == (
        "executor",
        48,
        {"job_id": "j1"},
        cmd["cmd_id"],
    ), up
    assert len(g.api.commands()) == 1, "one cancel request made more than one command"


# ============================================================================ restart


def test_a_new_station_on_the_same_archive_goes_on_from_the_recorded_stages(
    tmp_path, link_keyring
) -> None:
    path = tmp_path / "archive.sqlite"
    jobs = [spec("done"), spec("unanswered"), spec("later", release_s=50)]
    first = Ground(path, link_keyring, jobs)
    try:
        assert first.step(0, [contact()]).jobs == ["done", "unanswered"]
        first.step(1, [first.sc.report(JobState("done", "FAILED", "payload error", 1.0), S)])
        history = {j.job_id: first.stages(j.job_id) for j in jobs[:2]}
    finally:
        first.close()
    again = Ground(path, link_keyring, jobs)
    again.sc.verifier = first.sc.verifier  # the same spacecraft
    try:
        sent = [
            job for t in again.run(range(100, 103), {100: [contact()]}).values() for job in t.jobs
        ]
        assert sent == ["unanswered", "later"], f"after a restart the station sent {sent}"
        assert again.stages("done") == history["done"], "a restart moved a finished job back"
        assert again.stages("unanswered") == history["unanswered"], (
            "a resend after a restart added stages"
        )
        assert again.stage_names("later") == ["QUEUED", "RELEASED", "SENT"]
    finally:
        again.close()


def test_a_new_station_leaves_a_rejected_operator_jobs_history_alone(
    tmp_path, link_keyring
) -> None:
    path = tmp_path / "archive.sqlite"
    first = Ground(path, link_keyring)
    job_id = first.api.submit_job(operator_spec(priority=99), "otto")
    first.step(0)
    first.close()
    again = Ground(path, link_keyring)
    try:
        again.step(0)
        assert again.stage_names(job_id) == ["QUEUED", "REJECTED"], "a restart rewrote the history"
    finally:
        again.close()
