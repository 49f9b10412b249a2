"""The ground station's downlink: bad frames counted by reason, sequence gaps, housekeeping
into telemetry channels, events, table dumps, and the passes (open, close, bytes, predicted)."""

from __future__ import annotations

import sqlite3
import zlib
from pathlib import Path

import pytest

from flightsw.icd.messages import (
    BoardSensors,
    Event,
    JobAck,
    PowerBudget,
    Severity,
    TableDump,
)
from tests.groundsw.test_station import Ground, S, contact, downlink_frame, spec, station_grounds

BAD_FRAMES_PER_EVENT = 100
PREDICTED = [("madrid", 100 * S, 700 * S, 45.0), ("kiruna", 6000 * S, 6500 * S, 12.5)]
FORECAST_POINTS = 100  # more than telemetry.MAX_ARRAY_CHANNELS: not a time series


@pytest.fixture
def ground(tmp_path: Path, link_keyring):
    yield from station_grounds(tmp_path, link_keyring)


def budget(mode: str = "NOMINAL", soc: float = 0.8) -> PowerBudget:
    return PowerBudget(
        mode,
        120.0,
        300.0,
        50.0,
        soc,
        forecast_step_s=60.0,
        forecast_budget_w=(100.0,) * FORECAST_POINTS,
    )


def flipped(frame, at: int) -> object:
    """``frame`` (a DownlinkFrame message) with one bit flipped at byte ``at``."""
    data = bytearray(frame.body.data)
    data[at] ^= 0x01
    return downlink_frame(bytes(data), frame.env.t_ns)


# ======================================================================== bad frames


def test_bad_frames_are_counted_by_reason_and_reported_once_per_hundred(ground) -> None:
    g = ground([spec("j1")])
    g.step(0, [contact()])
    ack = g.sc.report(JobAck("j1", True, "stored"), S)
    events = []
    for tick in range(1, 4):  # 150 bit errors, 50 a tick
        n_bytes = len(ack.body.data)
        events += g.step(tick, [flipped(ack, 6 + i % (n_bytes - 6)) for i in range(50)]).events
    truncated = downlink_frame(ack.body.data[:-3], 4 * S)
    events += g.step(4, [truncated]).events
    assert [e.name for e in events] == ["station.bad_frame"] * 3, [e.text for e in events]
    assert all(e.severity == Severity.WARNING_LO for e in events)
    assert [e.text.split(";")[0] for e in events] == [
        "1 bad frame(s) (crc)",
        "101 bad frame(s) (crc)",
        "1 bad frame(s) (length)",
    ]
    report = g.station.final_report()
    assert report["frames_bad_by_reason"] == {"crc": 150, "length": 1}, report[
        "frames_bad_by_reason"
    ]
    assert (report["frames_bad"], report["tm_received"]) == (151, 0)
    assert g.job_row("j1")["stage"] == "SENT", "a corrupted frame changed a job's stage"


def test_sequence_gaps_are_counted_per_apid(ground) -> None:
    g = ground()
    frames = [
        g.sc.tm(budget(), "power", S, seq_count=n) for n in (0, 1, 4, 4, 5)
    ]  # 2 lost, 1 repeat
    frames += [g.sc.tm(Event(3, "thermal.x", ""), "thermal", S, seq_count=n) for n in (0, 1, 2)]
    g.step(1, frames)
    report = g.station.final_report()
    assert (report["tm_gaps"], report["tm_received"]) == (2, 8), report


# ================================================================= housekeeping, events


def test_housekeeping_becomes_telemetry_channels_at_the_samples_time(ground) -> None:
    g = ground()
    sensors = BoardSensors(
        temp_c=(30.0, 31.0, 32.0, 44.5),
        power_w=(100.0,) * 4,
        work_gpu_s=(0.0,) * 4,
        job_id=("a", "b", "", ""),
        radiator_temp_c=-5.0,
    )
    g.step(5, [g.sc.tm(budget("NOMINAL", 0.8), "power", 3 * S), g.sc.tm(sensors, "world", 3 * S)])
    got = dict(g.rows("SELECT channel, value FROM telemetry WHERE t_ns = ?", 3 * S))
    assert got["power.power_budget.battery_soc"] == pytest.approx(0.8)
    assert got["power.power_budget.mode"] == 2.0, "NOMINAL is rank 2"
    assert got["power.power_budget.compute_budget_w"] == pytest.approx(120.0)
    assert got["world.board_sensors.temp_c.3"] == pytest.approx(44.5)
    assert got["world.board_sensors.radiator_temp_c"] == pytest.approx(-5.0)
    assert not [c for c in got if ".job_id" in c or ".forecast_budget_w" in c], (
        "strings and long arrays are not time series"
    )
    (n_all,) = g.rows("SELECT COUNT(*) FROM telemetry")[0]
    assert n_all == len(got), "a telemetry row not stamped with the sample's time"


def test_events_become_event_rows(ground) -> None:
    g = ground()
    ev = Event(int(Severity.WARNING_HI), "thermal.board_hot", "board 3 at 91 C")
    g.step(7, [g.sc.tm(ev, "thermal", 6 * S)])
    assert g.rows("SELECT t_ns, src, severity, name, text FROM events") == [
        (6 * S, "thermal", "WARNING_HI", "thermal.board_hot", "board 3 at 91 C")
    ]


def test_a_table_dump_is_recorded(ground) -> None:
    g = ground()
    data = b'{"hk_every_ticks": 30}'
    g.step(1, [g.sc.tm(TableDump("comms", data, zlib.crc32(data)), "comms", S)])
    assert g.station.final_report()["table_dumps"] == [
        {"table": "comms", "crc32": zlib.crc32(data)}
    ]


# ============================================================================ passes


def test_a_pass_is_recorded_with_the_bytes_that_crossed_it(ground) -> None:
    g = ground([spec("j1")])
    t0 = g.step(0, [contact()])
    down = [g.sc.tm(budget(), "power", tick * S) for tick in (1, 2)]
    g.step(1, down[:1])
    g.step(2, down[1:])
    g.step(3, [contact(up=False)])
    up_bytes = sum(map(len, t0.frames))
    down_bytes = sum(len(m.body.data) for m in down)
    assert g.rows(
        "SELECT station, aos_t_ns, los_t_ns, predicted, bytes_down, bytes_up FROM passes"
    ) == [("madrid", 0, 3 * S, 0, down_bytes, up_bytes)]
    resent = g.step(10, [contact(station="kiruna")]).frames  # the job, unanswered, goes again
    g.step(12, [contact(up=False)])
    assert g.rows(
        "SELECT station, aos_t_ns, los_t_ns, bytes_down, bytes_up FROM passes ORDER BY id"
    )[1] == ("kiruna", 10 * S, 12 * S, 0, sum(map(len, resent))), (
        "the next pass did not start from zero"
    )


def test_predicted_passes_are_stored(ground) -> None:
    g = ground(passes=PREDICTED)
    assert (
        g.rows(
            "SELECT station, aos_t_ns, los_t_ns, max_elev_deg FROM passes WHERE predicted = 1 "
            "ORDER BY aos_t_ns"
        )
        == PREDICTED
    )


def test_a_handover_closes_the_first_stations_pass_and_opens_the_next(ground) -> None:
    g = ground()
    g.step(0, [contact(station="madrid")])
    g.step(5, [contact(station="kiruna")])
    g.step(9, [contact(up=False)])
    assert g.rows("SELECT station, aos_t_ns, los_t_ns FROM passes ORDER BY id") == [
        ("madrid", 0, 5 * S),
        ("kiruna", 5 * S, 9 * S),
    ]


def test_predicted_passes_are_stored_once_on_the_same_archive(tmp_path, link_keyring) -> None:
    path = tmp_path / "archive.sqlite"
    for _ in range(2):  # a station, then a new one on the same archive
        Ground(path, link_keyring, (), passes=PREDICTED).close()
    db = sqlite3.connect(path)
    try:
        assert len(db.execute("SELECT id FROM passes WHERE predicted = 1").fetchall()) == len(
            PREDICTED
        )
    finally:
        db.close()
