"""The scheduling bench (sim/bench.py, ``sim bench scheduling``): a tiny real bench
writes its results, table and plot with sensible rows; the pieces it is built of (seed
variants, deadline misses from the archive, the bound check, the table's flags) and the
CLI's checks of its options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flightsw.icd.policies import DEFAULT_POLICY, POLICY_NAMES
from groundsw.archive import Archive
from sim import cli
from sim.bench import (
    SUITE,
    MergeError,
    against_bound,
    config_from_args,
    deadline_misses,
    merge_results,
    scenario_variant,
    summarize,
    table_markdown,
)
from sim.scenario import ScenarioError, load_scenario

TINY_SCENARIOS = ("default", "degraded")
TINY_POLICIES = tuple(dict.fromkeys(("fifo", POLICY_NAMES[-1])))  # two that exist, if two do
TINY_HOURS = 0.3  # covers the first pass (~535 s to ~1000 s): results go down
NS_PER_H = 3600 * 10**9
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CLI_TIMEOUT_S = 120
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    """One real bench through the CLI (its own process, as a user runs it): 2 scenarios x
    2 policies x 1 seed of 0.3 h, on 1 spawned worker."""
    out = tmp_path_factory.mktemp("bench") / "out"
    argv = ["bench", "scheduling", "--scenarios", ",".join(TINY_SCENARIOS), "--policies", ",".join(TINY_POLICIES),
            "--seeds", "1", "--hours", str(TINY_HOURS), "--workers", "1", "--out", str(out), "--json"]
    proc = subprocess.run([sys.executable, "-m", "sim.cli", *argv], capture_output=True, text=True,
                          timeout=CLI_TIMEOUT_S, cwd=REPO)
    results_path = out / "results.json"
    return {"rc": proc.returncode, "out": out, "stdout": proc.stdout, "stderr": proc.stderr,
            "results": json.loads(results_path.read_text()) if results_path.exists() else {}}


def test_the_tiny_bench_succeeds_and_ends_stdout_with_a_one_line_summary(tiny) -> None:
    assert tiny["rc"] == 0, f"exit {tiny['rc']}: {tiny['stderr'][-2000:]}"
    summary = json.loads(tiny["stdout"].strip().splitlines()[-1])
    assert summary["runs"] == len(TINY_SCENARIOS) * len(TINY_POLICIES), summary
    assert summary["above_bound"] == 0 and summary["errors"] == 0, summary
    assert set(summary["value_ratio_mean"]) == set(TINY_POLICIES), summary


def test_every_run_has_a_sensible_row(tiny) -> None:
    rows = tiny["results"]["runs"]
    assert {(r["scenario"], r["policy"]) for r in rows} == {(s, p) for s in TINY_SCENARIOS for p in TINY_POLICIES}
    for r in rows:
        where = f"{r['scenario']}/{r['policy']}"
        assert "error" not in r, f"{where}: {r.get('error')}"
        assert r["seed"] == 0 and r["workload_seed"] == load_scenario(r["scenario"])["workload"]["seed"], where
        assert r["value_upper_bound"] > 0 and 0.0 <= r["value_ratio"] <= 1.0 and r["above_bound"] is False, (
            f"{where}: value {r['value_delivered']} against bound {r['value_upper_bound']}"
        )
        assert r["to_compute_wh"] > 0 and r["curtailed_wh"] >= 0 and r["violations_total"] >= 0, where
        assert 0 <= r["deadline_missed"] <= r["deadline_due"], where
        assert (Path(r["run_dir"]) / "report.json").is_file(), f"{where}: no report.json"
        kept = sorted(p.name for p in Path(r["run_dir"]).iterdir())
        assert kept == ["report.json"], f"{where}: without --keep-runs only the report stays, got {kept}"
    assert any(r["value_delivered"] > 0 for r in rows), "no run delivered anything in the first pass"


def test_each_seed_variant_is_bounded_once(tiny) -> None:
    bounds = tiny["results"]["oracle"]
    assert [(b["scenario"], b["seed"]) for b in bounds] == [(s, 0) for s in TINY_SCENARIOS], bounds


def test_the_table_has_one_row_per_scenario_and_policy(tiny) -> None:
    text = (tiny["out"] / "table.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| scenario")]
    assert len(rows) == len(TINY_SCENARIOS) * len(TINY_POLICIES), text
    for s in TINY_SCENARIOS:
        for p in TINY_POLICIES:
            assert any(line.startswith(f"| {s} | {p} |") for line in rows), f"no row for {s} x {p}:\n{text}"
    assert "ABOVE BOUND" not in text and "WARNING" not in text, text


def test_the_plot_is_written(tiny) -> None:
    data = (tiny["out"] / "value_vs_bound.png").read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5000, "value_vs_bound.png is not a PNG plot"


# ---------------------------------------------------------------------- pieces


def test_the_suite_starts_with_the_default_scenario() -> None:
    assert SUITE[0] == "default" and len(SUITE) == 7, SUITE


def test_a_seed_variant_changes_only_the_workload_seed() -> None:
    sc = load_scenario("default")
    v = scenario_variant(sc, 2)
    assert v["workload"]["seed"] == sc["workload"]["seed"] + 2, "the workload seed did not move"
    rest = {k: x for k, x in v.data.items() if k != "workload"}
    assert rest == {k: x for k, x in sc.data.items() if k != "workload"}, "a variant changed more than its seed"
    assert scenario_variant(sc, 0).data == sc.data, "seed offset 0 changed the scenario"


def test_a_seed_variant_wraps_within_the_seed_range(tmp_path: Path) -> None:
    path = tmp_path / "top.toml"
    path.write_text(f'base = "default"\n[workload]\nseed = {2**32 - 1}\n')
    assert scenario_variant(load_scenario(str(path)), 1)["workload"]["seed"] == 0, "the seed left its range"


def test_deadline_misses_count_jobs_due_in_the_run_not_delivered_by_their_deadline(tmp_path: Path) -> None:
    path = tmp_path / "archive.sqlite"
    a = Archive(path)
    try:
        cases = {  # job -> (deadline [h], downlinked [h] or None)
            "on-time": (2.0, 1.5), "late": (2.0, 2.5), "never": (3.0, None),
            "after-the-run": (30.0, None), "no-deadline": (None, None),
        }
        for job_id, (deadline_h, down_h) in cases.items():
            deadline_ns = -1 if deadline_h is None else int(deadline_h * NS_PER_H)
            a.add_job(job_id, "synthetic", 1, deadline_ns, 10.0, b"", 0)
            if down_h is not None:
                a.set_stage(job_id, "DOWNLINKED", int(down_h * NS_PER_H))
    finally:
        a.close()
    assert deadline_misses(path, 24 * NS_PER_H) == (3, 2), "due/missed wrong (on-time, late, never)"


def test_a_value_above_its_bound_is_flagged_and_rounding_is_not() -> None:
    assert against_bound(50.0, 100.0) == (0.5, False)
    assert against_bound(100.0 * (1 + 1e-9), 100.0)[1] is False, "LP rounding flagged as a broken bound"
    assert against_bound(101.0, 100.0)[1] is True, "a value 1 % above its bound was not flagged"
    assert against_bound(0.0, 0.0) == (None, False) and against_bound(1.0, 0.0)[1] is True


def test_the_table_shouts_about_a_run_above_its_bound() -> None:
    row = {"scenario": "default", "seed": 0, "policy": "fifo", "value_delivered": 120.0,
           "value_upper_bound": 100.0, "value_ratio": 1.2, "above_bound": True, "compute_fraction": 0.5,
           "curtailed_wh": 0.0, "deadline_due": 0, "deadline_missed": 0, "soc_min": 0.5,
           "board_temp_max_c": 40.0, "violations_total": 0}
    results = {"config": {"hours": 1.0, "seeds": 1, "policies": ["fifo"], "target_ratio": 0.95},
               "summary": summarize([row], ["fifo"]), "oracle": [],
               "above_bound": [{k: row[k] for k in ("scenario", "seed", "policy", "value_delivered",
                                                    "value_upper_bound")}], "errors": []}
    text = table_markdown(results)
    assert "WARNING" in text and "**ABOVE BOUND x1**" in text, text


def test_the_bounds_list_names_jobs_too_slow_to_finish_in_time() -> None:
    bound = {"scenario": "default", "seed": 4, "workload_seed": 11, "value_upper_bound": 100.0,
             "energy_upper_bound_wh": 2000.0, "status": "Optimal", "solve_s": 1.0, "jobs": 676}
    results = {"config": {"hours": 24.0, "seeds": 5, "policies": [], "target_ratio": 0.95},
               "summary": [], "oracle": [bound, {**bound, "seed": 3, "jobs_too_slow": 9}],
               "above_bound": [], "errors": []}
    text = table_markdown(results)
    assert "default seed 3 (workload seed 11): 100, 2.0 kWh (Optimal, 1.0 s; 9 of 676 jobs too slow to finish in time" in text, text
    assert "seed 4 (workload seed 11): 100, 2.0 kWh (Optimal, 1.0 s)" in text, "none too slow: nothing said"


# ----------------------------------------------------------------------- merge


def split_by_policy(results: dict) -> list[dict]:
    """A bench's results as if each policy had been run apart (same oracle, same runs)."""
    parts = []
    for policy in results["config"]["policies"]:
        part = json.loads(json.dumps(results))
        part["config"]["policies"] = [policy]
        part["runs"] = [r for r in part["runs"] if r["policy"] == policy]
        part["summary"] = summarize(part["runs"], [policy])
        parts.append(part)
    return parts


def test_benches_run_apart_merge_into_the_bench_run_together(tiny) -> None:
    whole = tiny["results"]
    merged = merge_results(split_by_policy(whole), ["a", "b"][: len(TINY_POLICIES)])
    assert merged["summary"] == whole["summary"]
    assert merged["runs"] == whole["runs"] and merged["oracle"] == whole["oracle"]
    assert merged["above_bound"] == whole["above_bound"] and merged["errors"] == whole["errors"]
    table = table_markdown(merged)
    assert table.replace(f"Merged from {len(TINY_POLICIES)} benches: "
                         f"{', '.join(['a', 'b'][: len(TINY_POLICIES)])}.\n\n", "") == table_markdown(whole)


def test_a_merge_refuses_different_bounds_a_run_twice_and_different_hours(tiny) -> None:
    one, *rest = split_by_policy(tiny["results"])
    other = json.loads(json.dumps(rest[0] if rest else one))
    other["oracle"][0]["value_upper_bound"] *= 1.01
    with pytest.raises(MergeError, match=r"part 2: oracle \S+ seed 0: expected the bound part 1 has"):
        merge_results([one, other])
    with pytest.raises(MergeError, match=r"part 2: run \S+ seed 0 \S+: expected it in one part only, also in part 1"):
        merge_results([one, one])
    longer = json.loads(json.dumps(one))
    longer["config"]["hours"] = 2 * TINY_HOURS
    with pytest.raises(MergeError, match=r"part 2: config.hours: expected 0.3 \(as part 1\), got 0.6"):
        merge_results([one, longer])
    with pytest.raises(MergeError, match="got none"):
        merge_results([])
    fewer = json.loads(json.dumps(rest[0] if rest else one))
    fewer["runs"] = fewer["runs"][1:]  # a policy that ran one variant less than the other
    if rest:
        with pytest.raises(MergeError, match=r"policy \S+: expected the scenarios and seeds \S+ ran \(2\), got 1"):
            merge_results([one, fewer])


def test_a_failed_run_redone_takes_its_place_in_the_merge(tiny) -> None:
    one = split_by_policy(tiny["results"])[0]
    failed = json.loads(json.dumps(one))
    row = failed["runs"][0]
    failed["runs"] = [{"scenario": row["scenario"], "seed": row["seed"], "policy": row["policy"],
                       "error": "RuntimeError: the run died"}]  # the first run failed; the redo has them all
    for parts in ([failed, one], [one, failed]):
        merged = merge_results(parts)
        assert merged["errors"] == [] and merged["runs"] == one["runs"], "the run that worked is kept"
    failed["runs"] += one["runs"][1:]
    alone = merge_results([failed])
    assert alone["errors"] == [{"scenario": row["scenario"], "seed": row["seed"], "policy": row["policy"],
                                "error": "RuntimeError: the run died"}]


def test_sim_bench_merge_writes_the_joined_table_and_names_a_folder_without_results(tiny, tmp_path) -> None:
    dirs = []
    for i, part in enumerate(split_by_policy(tiny["results"])):
        d = tmp_path / f"part{i}"
        d.mkdir()
        (d / "results.json").write_text(json.dumps(part))
        dirs.append(str(d))
    out = tmp_path / "merged"
    assert cli.main(["bench", "merge", "--from", ",".join(dirs), "--out", str(out)]) == 0
    assert json.loads((out / "results.json").read_text())["summary"] == tiny["results"]["summary"]
    assert (out / "value_vs_bound.png").read_bytes()[:8] == PNG_MAGIC and "Merged from" in (out / "table.md").read_text()
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "bench", "merge", "--from", f"{dirs[0]},{tmp_path / 'nope'}",
                           "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=CLI_TIMEOUT_S, cwd=REPO)
    assert proc.returncode == 2 and "--from" in proc.stderr and "nope" in proc.stderr, (proc.returncode, proc.stderr)
    assert not (tmp_path / "o").exists(), "a refused merge wrote output"
    before = (out / "results.json").read_text()
    assert cli.main(["bench", "merge", "--from", f"{dirs[0]},{out}", "--out", str(out)]) == 2, "its own input"
    assert (out / "results.json").read_text() == before
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "results.json").write_text(json.dumps({"config": {}, "oracle": [], "runs": []}))
    assert cli.main(["bench", "merge", "--from", str(bare), "--out", str(tmp_path / "o2")]) == 2


# ------------------------------------------------------------------------- CLI


@pytest.mark.parametrize(("args", "named"), [
    (["--policies", "nope"], "--policies"), (["--scenarios", "nope"], "nope"),
    (["--seeds", "0"], "--seeds"), (["--hours", "0"], "--hours"), (["--workers", "0"], "--workers"),
    (["--from", "x"], "--from"),
])
def test_a_bad_bench_option_is_an_error_naming_it(args: list[str], named: str) -> None:
    parsed = cli._parser().parse_args(["bench", "scheduling", *args])
    with pytest.raises(ScenarioError) as info:
        config_from_args(parsed)
    assert named in str(info.value), str(info.value)


def test_the_cli_rejects_a_bad_bench_option_with_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "bench", "scheduling", "--policies", "nope",
                           "--out", str(tmp_path / "o")], capture_output=True, text=True,
                          timeout=CLI_TIMEOUT_S, cwd=REPO)
    assert proc.returncode == 2 and "--policies" in proc.stderr, (proc.returncode, proc.stderr)
    assert not (tmp_path / "o").exists(), "a rejected bench wrote output"


def test_sim_run_defaults_to_the_default_policy() -> None:
    assert cli._parser().parse_args(["run"]).policy == DEFAULT_POLICY == "predictive"
