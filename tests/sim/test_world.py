"""The simulated satellite (sim/world.py): energy bookkeeping, boards under commands,
hardware protection (thermal trip, brownout) and the RF link's contact gating."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from flightsw.icd.messages import (
    BoardCommand,
    BoardSensors,
    ContactState,
    DownlinkFrame,
    Envelope,
    Message,
    PowerSensors,
    UplinkFrame,
)
from sim.scenario import load_scenario, scenario_from_dict
from sim.world import World

S = 1_000_000_000  # [ns] per 1 s tick
N_TICKS = 2400  # the default day: first contact 534..999 s, sunrise at ~1604 s
AROUND_SUNRISE = range(1000, N_TICKS)
SEED = 1
ENERGY_TOLERANCE_WH = 1e-6
POWER_TOLERANCE_W = 1e-9
WORK_TOLERANCE_GPU_S = 1e-12


@pytest.fixture(scope="module")
def default_data() -> dict:
    return load_scenario("default").data


def world(data: dict, n_ticks: int = N_TICKS, **changes: dict) -> World:
    """A world on a copy of ``data`` with ``changes`` ({table: {key: value}}) applied."""
    data = copy.deepcopy(data)
    for table, values in changes.items():
        data[table].update(values)
    return World(scenario_from_dict(data), n_ticks, SEED)


def msg(body, src: str, seq: int = 1, tick: int = 0) -> Message:
    return Message(Envelope(body.KIND, body.VERSION, src, seq, tick, tick * S, ""), body)


def command(n: int, caps: dict[int, tuple[float, str]]) -> Message:
    """A BoardCommand for ``n`` boards; ``caps`` maps board -> (cap [W], job id)."""
    cap_w = tuple(caps.get(b, (0.0, ""))[0] for b in range(n))
    job_id = tuple(caps.get(b, (0.0, ""))[1] for b in range(n))
    return msg(BoardCommand(cap_w=cap_w, job_id=job_id), "executor")


def readings(outs, cls):
    (body,) = [b for b, _ in outs if isinstance(b, cls)]
    return body


def all_on(w: World, cap_w: float) -> Message:
    return command(w.boards.count, {b: (cap_w, f"j{b}") for b in range(w.boards.count)})


# ---------------------------------------------------------------------- energy

QUIET = {"sensors": {"board_temp_sigma_c": 0.0, "board_power_sigma_w": 0.0, "solar_power_sigma_w": 0.0,
                     "battery_soc_sigma": 0.0, "radiator_temp_sigma_c": 0.0, "load_sigma_w": 0.0,
                     "sunlit_fraction_sigma": 0.0},
         "radiation": {"sdc_per_active_board_hour": 0.0, "sefi_per_powered_board_hour": 0.0,
                       "fail_per_board_hour": 0.0},
         "link": {"bit_errors": "none"}}


def quiet(data: dict, n_ticks: int = N_TICKS, **changes: dict) -> World:
    """A world without sensor noise, radiation or bit errors (exact bookkeeping)."""
    merged = {k: dict(v) for k, v in QUIET.items()}
    for table, values in changes.items():
        merged.setdefault(table, {}).update(values)
    return world(data, n_ticks, **merged)


def test_harvested_energy_is_the_integral_of_the_true_solar_power(default_data) -> None:
    w = quiet(default_data)
    for tick in AROUND_SUNRISE:
        w.step(tick, tick * S, [])
    total_wh = float(np.sum(w.solar_w[AROUND_SUNRISE.start:AROUND_SUNRISE.stop])) * w.dt_s / 3600.0
    assert total_wh > 0.0, "no sunlight in the window: the test checks nothing"
    assert w.env.sunlit[AROUND_SUNRISE[0]] == 0.0, "no eclipse in the window: half a test"
    assert w.harvested_wh == pytest.approx(total_wh, abs=ENERGY_TOLERANCE_WH), (
        "harvested_wh is not the integral of the solar power"
    )


def test_the_noiseless_power_reading_is_the_true_solar_power_and_charge(default_data) -> None:
    w = quiet(default_data)
    tick = AROUND_SUNRISE[-1]
    p = readings(w.step(tick, tick * S, []), PowerSensors)
    assert p.solar_power_w == pytest.approx(float(w.solar_w[tick]), abs=POWER_TOLERANCE_W)
    assert p.battery_charge_wh == pytest.approx(w.bat.charge_wh, rel=1e-12)


def test_the_shunt_reading_is_the_sunlight_neither_used_nor_stored(default_data) -> None:
    # a full battery in sunlight with the boards off: all but housekeeping is shunted
    w = quiet(default_data, power={"battery_initial_soc": 1.0})
    shunted = []
    for tick in AROUND_SUNRISE:
        p = readings(w.step(tick, tick * S, []), PowerSensors)
        shunted.append(p.shunt_w)
        assert p.shunt_w >= 0.0
    tick = AROUND_SUNRISE[-1]
    want_w = float(w.solar_w[tick]) - default_data["power"]["housekeeping_w"] - w.heater_on.dot(w.heaters.power_w)
    assert want_w > 1000.0, "not in full sunlight: the test checks little"
    assert shunted[-1] == pytest.approx(want_w, abs=1e-6)
    assert shunted[0] == 0.0, "in eclipse nothing is shunted"
    # the energy the readings report is the world's curtailed energy
    assert sum(shunted) * w.dt_s / 3600.0 == pytest.approx(w.curtailed_wh, abs=ENERGY_TOLERANCE_WH)


def test_battery_charge_stays_within_zero_and_capacity(default_data) -> None:
    w = quiet(default_data, power={"battery_capacity_wh": 1.0, "battery_initial_soc": 0.5},
              boards={"boot_s": 0.0})
    seen = []
    for tick in AROUND_SUNRISE:
        inbox = [all_on(w, 700.0)] if tick % 100 == 0 else []
        if tick % 100 == 50:
            inbox = [command(w.boards.count, {})]
        p = readings(w.step(tick, tick * S, inbox), PowerSensors)
        assert 0.0 <= w.bat.charge_wh <= w.bat.capacity_wh, f"tick {tick}: {w.bat}"
        assert 0.0 <= p.battery_soc <= 1.0, f"tick {tick}: soc {p.battery_soc}"
        seen.append(w.bat.charge_wh / w.bat.capacity_wh)
    assert min(seen) < 0.01 and max(seen) > 0.99, "the test never came near both bounds"


# ---------------------------------------------------------------------- boards


def test_board_commands_power_and_work_only_boards_with_a_job(default_data) -> None:
    w = quiet(default_data, boards={"boot_s": 0.0})
    b = w.boards
    n = b.count
    caps = {0: (300.0, "j1"), 1: (300.0, ""), 3: (100.0, "j2"), 4: (5000.0, "j3")}
    sensors = readings(w.step(0, 0, [command(n, caps)]), BoardSensors)
    expected_power = [0.0] * n
    expected_power[0] = 300.0
    expected_power[1] = b.idle_power_w  # on, but no job: idles
    expected_power[3] = b.min_power_w  # a cap below the minimum is raised to it
    expected_power[4] = b.max_power_w  # a cap above the maximum is clipped
    assert sensors.power_w == pytest.approx(expected_power, abs=POWER_TOLERANCE_W), (
        f"board power {sensors.power_w}"
    )
    e = b.throughput_exponent
    frac = [(300.0 / 700.0) ** e, 0.0, 0.0, (200.0 / 700.0) ** e, 1.0] + [0.0] * (n - 5)
    assert sensors.work_gpu_s == pytest.approx([f * w.dt_s for f in frac], abs=WORK_TOLERANCE_GPU_S), (
        f"board work {sensors.work_gpu_s}"
    )


def test_a_board_switched_on_boots_before_it_works(default_data) -> None:
    w = quiet(default_data, boards={"boot_s": 5.0})
    n = w.boards.count
    works = []
    for tick in range(8):
        inbox = [command(n, {0: (700.0, "j1")})] if tick == 0 else []
        sensors = readings(w.step(tick, tick * S, inbox), BoardSensors)
        works.append(sensors.work_gpu_s[0])
    assert works[:5] == [0.0] * 5 and all(x > 0 for x in works[5:]), f"work per tick {works}"


def test_board_sensors_report_the_job_each_board_worked_on(default_data) -> None:
    w = quiet(default_data, boards={"boot_s": 0.0})
    n = w.boards.count
    sensors = readings(w.step(0, 0, [command(n, {0: (300.0, "j1"), 1: (0.0, "j2"),
                                                 2: (300.0, "")})]), BoardSensors)
    assert sensors.job_id == ("j1",) + ("",) * (n - 1), (
        f"job ids {sensors.job_id}: only a board that did work may report a job"
    )


def test_a_command_for_the_wrong_number_of_boards_is_ignored(default_data) -> None:
    w = quiet(default_data, boards={"boot_s": 0.0})
    n = w.boards.count
    w.step(0, 0, [command(n, {0: (300.0, "j1")})])
    sensors = readings(w.step(1, S, [command(n - 1, {})]), BoardSensors)
    assert sensors.job_id[0] == "j1" and sensors.power_w[0] == 300.0, (
        "a malformed command replaced the last good one"
    )


def test_a_board_above_its_shutdown_temperature_turns_itself_off(default_data) -> None:
    w = quiet(default_data, boards={"boot_s": 0.0})
    n = w.boards.count
    w.step(0, 0, [all_on(w, 700.0)])
    temps = w.therm.board_temp_c.copy()
    temps[2] = w.boards.shutdown_c + 1.0
    w.therm = dataclasses.replace(w.therm, board_temp_c=temps)
    sensors = readings(w.step(1, S, []), BoardSensors)
    assert sensors.power_w[2] == 0.0 and sensors.work_gpu_s[2] == 0.0, "a hot board kept running"
    assert sensors.power_w[1] == pytest.approx(700.0), "a cool board stopped"
    assert w.violations["board_thermal_shutdown"] == 1, f"violations {w.violations}"
    assert n > 2


def test_a_battery_that_cannot_carry_the_load_browns_the_boards_out(default_data) -> None:
    w = quiet(default_data, power={"battery_capacity_wh": 1.0, "battery_initial_soc": 0.3},
              boards={"boot_s": 0.0})
    outs = w.step(0, 0, [all_on(w, 700.0)])
    sensors = readings(outs, BoardSensors)
    assert w.violations["brownout"] == 1, f"violations {w.violations}"
    assert all(pw == 0.0 for pw in sensors.power_w), "boards kept power in a brownout"
    assert all(x == 0.0 for x in sensors.work_gpu_s), "boards did work in a brownout"


def test_a_battery_that_carries_the_load_causes_no_brownout(default_data) -> None:
    w = quiet(default_data, boards={"boot_s": 0.0})
    w.step(0, 0, [all_on(w, 700.0)])
    assert w.violations["brownout"] == 0, "a full 6 kWh battery browned out at tick 0"


# ---------------------------------------------------------------------- sensors


def test_a_planned_dead_temperature_channel_is_flagged_not_faked(default_data) -> None:
    data = copy.deepcopy(default_data)
    fault = {"sensor": "board_temp_c", "index": 3, "kind": "off", "start_tick": 2, "end_tick": 4}
    w = World(scenario_from_dict(data), 10, SEED, [fault])
    oks = [readings(w.step(t, t * S, []), BoardSensors).temp_ok[3] for t in range(6)]
    assert oks == [1, 1, 0, 0, 1, 1], f"temp_ok of board 3 over ticks 0..5: {oks}"


def test_the_same_seed_gives_the_same_readings(default_data) -> None:
    a, b = world(default_data), world(default_data)
    for tick in range(50):
        assert a.step(tick, tick * S, []) == b.step(tick, tick * S, []), f"tick {tick} differs"


# ---------------------------------------------------------------------- RF link


def _contact_ticks(w: World) -> tuple[int, int]:
    inside = np.flatnonzero(w.env.contact >= 0)
    outside = np.flatnonzero(w.env.contact < 0)
    assert inside.size and outside.size, "the window needs ticks in and out of contact"
    return int(inside[0]), int(outside[0])


def test_frames_pass_both_ways_in_contact(default_data) -> None:
    w = world(default_data)
    tick, _ = _contact_ticks(w)
    up, down = UplinkFrame(b"u" * 100), DownlinkFrame(b"d" * 100)
    outs = w.step(tick, tick * S, [msg(up, "station"), msg(down, "comms")])
    assert (up, "comms") in outs, "uplink frame did not reach comms in contact"
    assert (down, "station") in outs, "downlink frame did not reach the station in contact"
    state = readings(outs, ContactState)
    assert state.in_contact and state.station == "madrid", f"contact state {state}"


def test_frames_do_not_pass_out_of_contact(default_data) -> None:
    w = world(default_data)
    _, tick = _contact_ticks(w)
    outs = w.step(tick, tick * S, [msg(UplinkFrame(b"u"), "station"), msg(DownlinkFrame(b"d"), "comms")])
    frames = [b for b, _ in outs if isinstance(b, UplinkFrame | DownlinkFrame)]
    assert frames == [], f"frames passed out of contact: {frames}"
    assert w.link.statistics()["dropped_no_contact"] == 2, "the drops were not counted"
    assert readings(outs, ContactState).in_contact is False, "contact reported out of contact"


def test_frames_from_the_wrong_source_are_ignored(default_data) -> None:
    w = world(default_data)
    tick, _ = _contact_ticks(w)
    outs = w.step(tick, tick * S, [msg(UplinkFrame(b"u"), "comms"), msg(DownlinkFrame(b"d"), "station")])
    frames = [b for b, _ in outs if isinstance(b, UplinkFrame | DownlinkFrame)]
    assert frames == [], f"a frame from the wrong end was transmitted: {frames}"


def test_a_station_with_its_own_loss_rate_loses_every_frame_when_it_is_one(default_data) -> None:
    data = copy.deepcopy(default_data)
    data["ground_stations"][0]["loss_probability"] = 1.0
    w = World(scenario_from_dict(data), N_TICKS, SEED)
    tick, _ = _contact_ticks(w)
    outs = w.step(tick, tick * S, [msg(UplinkFrame(b"u" * 10), "station"), msg(DownlinkFrame(b"d" * 10), "comms")])
    frames = [b for b, _ in outs if isinstance(b, UplinkFrame | DownlinkFrame)]
    assert frames == [], "a station whose loss rate is 1 passed a frame"
    assert w.link.statistics()["up_lost"] == 1 and w.link.statistics()["down_lost"] == 1


# ------------------------------------------------------------------ failed boards

NO_RESPONSE = 5  # BoardSensors.state of a dead board (flightsw/apps/executor/boards.py)


def test_boards_failed_in_the_scenario_start_failed_and_never_work(default_data) -> None:
    from sim.boards import FAILED

    w = quiet(default_data, boards={"boot_s": 0.0, "failed": [2, 5]})
    n = w.boards.count
    assert [int(c) for c in np.flatnonzero(w.bank.code == FAILED)] == [2, 5], (
        f"bank states at the epoch {w.bank.names()}: boards.failed not FAILED"
    )
    for tick in range(3):  # every board commanded on with a job, the failed ones too
        sensors = readings(w.step(tick, tick * S, [all_on(w, 700.0)] if tick == 0 else []), BoardSensors)
        assert sensors.state[2] == sensors.state[5] == NO_RESPONSE, (
            f"tick {tick}: failed boards report {sensors.state}, not NO_RESPONSE"
        )
        assert sensors.work_gpu_s[2] == sensors.work_gpu_s[5] == 0.0 and sensors.power_w[2] == 0.0, (
            f"tick {tick}: a failed board worked or drew power: {sensors.work_gpu_s}, {sensors.power_w}"
        )
        assert all(sensors.work_gpu_s[b] > 0 for b in range(n) if b not in (2, 5)), (
            f"tick {tick}: a healthy board did no work: {sensors.work_gpu_s}"
        )
    assert w.final_report()["boards_failed"] == 2, "the report does not count the failed boards"
    assert w.final_report()["hardware_events"]["board_failures"] == 0, (
        "boards failed from the epoch counted as failures during the run"
    )


def test_without_failed_boards_every_board_starts_off(default_data) -> None:
    from sim.boards import OFF

    assert (quiet(default_data).bank.code == OFF).all(), "a board starts other than OFF"
