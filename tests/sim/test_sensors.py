import numpy as np
import pytest

from sim.sensors import SensorBank, SensorFault, parse_sensor_faults

SIGMAS = 4.0  # sample statistics must lie within 4 standard errors
N_READS = 20_000
CHANNELS = 4
TRUTH_C = np.array([20.0, 30.0, 40.0, 50.0])
STUCK_SIGMA = 0.3  # noise of the stuck-sensor test's bank


def _bank(faults=(), sigma=0.0, seed=1) -> SensorBank:
    return SensorBank("board_temp_c", np.full(CHANNELS, sigma), np.random.default_rng(seed),
                      faults)


def _fault(kind: str, index=2, start=10, end=20, **kw) -> SensorFault:
    return SensorFault("board_temp_c", index, kind, start, end, **kw)


def test_without_noise_or_faults_a_reading_is_the_truth_and_valid() -> None:
    reading, valid = _bank().read(TRUTH_C, 0)
    assert np.array_equal(reading, TRUTH_C) and valid.all(), f"read {reading}, valid {valid}"


def test_noise_is_gaussian_with_the_channels_sigma_and_no_bias() -> None:
    sigma = np.array([0.5, 1.0, 2.0, 0.0])
    bank = SensorBank("board_temp_c", sigma, np.random.default_rng(2))
    reads = np.array([bank.read(TRUTH_C, t)[0] for t in range(N_READS)])
    err = reads - TRUTH_C
    mean_bound = SIGMAS * sigma / np.sqrt(N_READS)
    assert np.all(np.abs(err.mean(axis=0)) <= mean_bound), f"noise mean {err.mean(axis=0)}"
    std_bound = SIGMAS * sigma / np.sqrt(2 * N_READS)  # standard error of a sample std
    assert np.all(np.abs(err.std(axis=0) - sigma) <= std_bound), f"noise std {err.std(axis=0)}"


def test_an_off_sensor_gives_no_reading_only_during_its_fault() -> None:
    bank = _bank([_fault("off")])
    for tick, broken in ((9, False), (10, True), (19, True), (20, False)):
        reading, valid = bank.read(TRUTH_C, tick)
        assert valid[2] == (not broken), f"tick {tick}: channel 2 valid is {valid[2]}"
        assert np.isnan(reading[2]) == broken, f"tick {tick}: channel 2 reads {reading[2]}"
        assert valid[[0, 1, 3]].all(), f"tick {tick}: an unfaulted channel went invalid"


def test_a_stuck_sensor_holds_the_reading_it_had_when_the_fault_began() -> None:
    bank = _bank([_fault("stuck")], sigma=STUCK_SIGMA)
    at_start, _ = bank.read(TRUTH_C, 10)
    for tick in range(11, 20):
        reading, valid = bank.read(TRUTH_C + tick, tick)
        assert reading[2] == at_start[2] and valid[2], f"tick {tick}: stuck channel moved"
        assert reading[1] != at_start[1], "an unfaulted channel froze"
    after, _ = bank.read(TRUTH_C + 100.0, 20)
    assert abs(after[2] - (TRUTH_C[2] + 100.0)) <= SIGMAS * STUCK_SIGMA, f"the channel stayed stuck after the fault: {after[2]}"


def test_a_stuck_at_value_sensor_reads_that_value() -> None:
    reading, valid = _bank([_fault("stuck", value=-273.0)]).read(TRUTH_C, 15)
    assert reading[2] == -273.0 and valid[2], f"stuck-at channel reads {reading[2]}"


def test_a_biased_sensor_adds_its_constant() -> None:
    reading, valid = _bank([_fault("bias", value=7.5)]).read(TRUTH_C, 12)
    assert reading[2] - TRUTH_C[2] == 7.5 and valid[2], f"biased channel reads {reading[2]}"
    assert np.array_equal(reading[[0, 1, 3]], TRUTH_C[[0, 1, 3]]), "bias leaked to other channels"


def test_a_random_sensor_reads_uniform_garbage_within_its_range() -> None:
    bank = _bank([_fault("random", start=0, end=N_READS, low=-40.0, high=150.0)])
    got = np.array([bank.read(TRUTH_C, t)[0][2] for t in range(2000)])
    assert got.min() >= -40.0 and got.max() <= 150.0, "garbage outside its range"
    assert got.std() > 40.0, f"garbage is not spread over the range: std {got.std()}"


def test_of_two_active_faults_on_one_channel_the_later_in_the_plan_wins() -> None:
    bank = _bank([_fault("off"), _fault("bias", value=1.0)])
    reading, valid = bank.read(TRUTH_C, 15)
    assert valid[2] and reading[2] == TRUTH_C[2] + 1.0, f"channel 2 reads {reading[2]}"


def test_a_missing_truth_reads_invalid() -> None:
    truth = TRUTH_C.copy()
    truth[0] = np.nan
    _, valid = _bank().read(truth, 0)
    assert not valid[0] and valid[1:].all(), f"valid is {valid}"


def test_the_same_seed_gives_the_same_readings() -> None:
    plan = [_fault("random", low=0.0, high=1.0)]
    a = [_bank(plan, 1.0, seed=9).read(TRUTH_C, t)[0] for t in range(30)]
    b = [_bank(plan, 1.0, seed=9).read(TRUTH_C, t)[0] for t in range(30)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True)), "not deterministic"


def test_a_fault_does_not_change_the_noise_of_any_other_channel() -> None:
    clean, faulty = _bank(sigma=1.0, seed=4), _bank([_fault("random", low=0.0, high=1.0)], 1.0, 4)
    for t in range(30):
        a, b = clean.read(TRUTH_C, t)[0], faulty.read(TRUTH_C, t)[0]
        assert np.array_equal(a[[0, 1, 3]], b[[0, 1, 3]]), f"tick {t}: a fault shifted the noise"


def test_faults_for_other_sensors_are_ignored() -> None:
    other = SensorFault("battery_soc", 0, "off", 0, 100)
    reading, valid = _bank([other]).read(TRUTH_C, 5)
    assert valid.all(), "a fault for another sensor applied here"


def test_the_fault_plan_example_entry_parses() -> None:
    entry = {"sensor": "board_temp_c", "index": 3, "kind": "stuck", "start_tick": 100,
             "end_tick": 500, "value": 0.0}
    assert parse_sensor_faults([entry], {"board_temp_c": 16}) == [
        SensorFault("board_temp_c", 3, "stuck", 100, 500, 0.0)
    ], "the example entry parsed wrong"


GOOD = {"sensor": "board_temp_c", "index": 1, "kind": "bias", "start_tick": 0, "end_tick": 5,
        "value": 2.0}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "melted"}, r"sensor\[0\]\.kind: expected one of \['off', 'stuck', 'bias', 'random'\], got 'melted'"),
        ({"sensor": "cpu_temp_c"}, r"sensor\[0\]\.sensor: expected one of \['battery_soc', 'board_temp_c'\], got 'cpu_temp_c'"),
        ({"index": 16}, r"sensor\[0\]\.index: expected 0 <= index < 16 for board_temp_c, got 16"),
        ({"index": -1}, r"sensor\[0\]\.index: expected an integer >= 0, got -1"),
        ({"start_tick": 1.5}, r"sensor\[0\]\.start_tick: expected an integer >= 0, got 1\.5"),
        ({"end_tick": 0, "start_tick": 3}, r"sensor\[0\]\.end_tick: expected > start_tick \(3\), got 0"),
        ({"value": "hot"}, r"sensor\[0\]\.value: expected a finite number, got 'hot'"),
        ({"colour": "red"}, r"sensor\[0\]: unknown key\(s\) \['colour'\]"),
        ({"kind": "off"}, r"sensor\[0\]: key\(s\) \['value'\] mean nothing for kind 'off'"),
        ({"kind": "random", "value": None}, r"sensor\[0\]\.low: expected a finite number, got None"),
    ],
)
def test_bad_fault_entries_are_refused_naming_entry_field_expected_and_got(change, message) -> None:
    entry = {k: v for k, v in (GOOD | change).items() if v is not None}
    with pytest.raises(ValueError, match=message):
        parse_sensor_faults([entry], {"board_temp_c": 16, "battery_soc": 1})


def test_a_random_fault_needs_low_below_high() -> None:
    entry = GOOD | {"kind": "random", "low": 5.0, "high": 5.0}
    del entry["value"]
    with pytest.raises(ValueError, match=r"sensor\[0\]\.high: expected > low \(5\.0\), got 5\.0"):
        parse_sensor_faults([entry])


def test_a_bank_refuses_a_fault_on_a_channel_it_does_not_have() -> None:
    with pytest.raises(ValueError, match=r"fault index expected in \[0, 4\), got 9"):
        _bank([_fault("off", index=9)])
