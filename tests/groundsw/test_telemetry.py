"""Downlinked housekeeping and events -> archive rows (groundsw/telemetry.py): the channel
names the console and the limit tools rely on."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.apps.comms.core import HK_KINDS
from flightsw.icd.messages import (
    BODY_TYPES,
    MODE_RANK,
    AppHousekeeping,
    BoardSensors,
    CommsStatus,
    Envelope,
    Event,
    ExecutorStatus,
    Message,
    PowerBudget,
    Severity,
    SupervisorStatus,
    ThermalCaps,
)
from groundsw.telemetry import MAX_ARRAY_CHANNELS, channel_prefix, event_row, telemetry_rows
from tests.strategies import bodies, names

T_NS = 1_234_000_000_000


def msg(body, src: str = "power", t_ns: int = T_NS) -> Message:
    return Message(Envelope(body.KIND, body.VERSION, src, 1, t_ns // 10**9, t_ns, ""), body)


def rows(body, src: str = "power") -> dict[str, float]:
    out = list(telemetry_rows(msg(body, src)))
    assert all(t == T_NS for _, t, _ in out), "a row not stamped with the message's time"
    channels = [c for c, _, _ in out]
    assert len(channels) == len(set(channels)), f"a channel twice: {channels}"
    return {c: v for c, _, v in out}


def sensors(n_boards: int) -> BoardSensors:
    return BoardSensors(
        temp_c=tuple(20.0 + i for i in range(n_boards)),
        power_w=(50.0,) * n_boards,
        work_gpu_s=(0.0,) * n_boards,
        job_id=("j",) * n_boards,
        radiator_temp_c=-10.0,
    )


@pytest.mark.parametrize(
    "body, src, prefix",
    [
        (PowerBudget("NOMINAL", 1.0, 2.0, 3.0, 0.5), "power", "power.power_budget"),
        (sensors(2), "world", "world.board_sensors"),
        (ThermalCaps((1.0,), (0,)), "thermal", "thermal.thermal_caps"),
        (ExecutorStatus(0, 0, 0, 0, 0, 0, 0, 0.0, 0.0), "executor", "executor.executor_status"),
        (CommsStatus(0, 0, 0, 0, 0), "comms", "comms.comms_status"),
        (AppHousekeeping(0, 0, 0, 0), "supervisor", "supervisor.app_housekeeping"),
    ],
    ids=lambda x: x if isinstance(x, str) else type(x).__name__,
)
def test_channels_are_named_by_source_and_message_in_snake_case(body, src, prefix) -> None:
    assert channel_prefix(msg(body, src)) == prefix
    assert rows(body, src) and all(c.startswith(prefix + ".") for c in rows(body, src))


def test_the_documented_channels_carry_their_readings() -> None:
    budget = rows(PowerBudget("COMPUTE", 120.0, 300.0, 50.0, 0.8, min_priority=3))
    assert budget["power.power_budget.battery_soc"] == pytest.approx(0.8)
    assert budget["power.power_budget.min_priority"] == 3.0
    assert budget["power.power_budget.compute_budget_w"] == pytest.approx(120.0)
    assert rows(sensors(4), "world")["world.board_sensors.temp_c.3"] == pytest.approx(23.0)


@pytest.mark.parametrize("mode", list(MODE_RANK))
def test_a_mode_is_its_rank(mode) -> None:
    assert rows(PowerBudget(mode, 1.0, 2.0, 3.0, 0.5))["power.power_budget.mode"] == MODE_RANK[mode]
    sup = SupervisorStatus(("power",), (0,), False, mode)
    assert rows(sup, "supervisor")["supervisor.supervisor_status.mode"] == MODE_RANK[mode]


def test_a_flag_is_zero_or_one() -> None:
    sup = rows(SupervisorStatus(("power",), (0,), True), "supervisor")
    assert sup["supervisor.supervisor_status.safe_mode_ordered"] == 1.0


def test_strings_and_empty_arrays_are_not_channels() -> None:
    sup = rows(
        SupervisorStatus(("power", "thermal"), (1, 2), False, sequence="night"), "supervisor"
    )
    assert not [c for c in sup if ".processes" in c or ".sequence" in c or ".actionpoints" in c], (
        sup
    )
    assert [sup[f"supervisor.supervisor_status.restarts.{i}"] for i in (0, 1)] == [1.0, 2.0]
    assert not [c for c in rows(sensors(3), "world") if ".job_id" in c]
    assert not [
        c for c in rows(PowerBudget("SAFE", 0.0, 0.0, 0.0, 0.1)) if "forecast_budget_w" in c
    ]


def test_arrays_longer_than_the_channel_limit_are_left_out() -> None:
    at_limit = rows(sensors(MAX_ARRAY_CHANNELS), "world")
    assert f"world.board_sensors.temp_c.{MAX_ARRAY_CHANNELS - 1}" in at_limit
    over = rows(sensors(MAX_ARRAY_CHANNELS + 1), "world")
    assert not [c for c in over if ".temp_c." in c], "a per-board array over the limit was split"
    assert over["world.board_sensors.radiator_temp_c"] == -10.0, "the scalars must still come"


def test_an_event_row_carries_time_source_severity_name_and_text() -> None:
    ev = Event(int(Severity.WARNING_HI), "thermal.board_hot", "board 3 at 91 C")
    assert event_row(msg(ev, "thermal")) == (
        T_NS,
        "thermal",
        "WARNING_HI",
        "thermal.board_hot",
        "board 3 at 91 C",
    )


HK_TYPES = [BODY_TYPES[k] for k in sorted(HK_KINDS)]


@settings(deadline=None, max_examples=200)
@given(st.sampled_from(HK_TYPES).flatmap(bodies), names(min_size=1))
def test_every_numeric_reading_comes_out_under_its_name_and_nothing_else(body, src) -> None:
    got = rows(body, src)
    prefix = channel_prefix(msg(body, src))
    expected = {}
    for name in body.__slots__:
        v = getattr(body, name)
        if isinstance(v, bool | int | float):
            expected[f"{prefix}.{name}"] = float(v)
        elif name == "mode":
            expected[f"{prefix}.{name}"] = float(MODE_RANK[v])
        elif isinstance(v, tuple) and v and isinstance(v[0], int | float):
            expected.update((f"{prefix}.{name}.{i}", float(x)) for i, x in enumerate(v))
    assert got == expected
