"""Operator job specs: parse (TOML or JSON), validate, estimate.

A spec names what a job is, not who it is: the ground assigns ``job_id`` and the
station sets ``release_t_ns`` when it releases the job. Example (TOML)::

    kind = "matmul"             # "matmul" | "synthetic"
    priority = 7                # 0..9
    work_gpu_s = 3600           # GPU-seconds at full board power, > 0
    boards_needed = 2           # 1..board_count (twice that for a dual job)
    deadline_in_s = 86400       # or deadline_utc = "2025-03-21T00:00:00Z"; not both
    checkpoint_interval_s = 600 # 0: never
    input_bytes = 0             # 0..64 MiB
    output_bytes = 0            # synthetic: the result size; matmul: fixed by n
    seed = 42                   # 0..2**32-1
    [params]
    n = 256                     # matmul: the matrix order, 1..512 (the executor's limit)
    dual = false                # run twice on different boards and compare

:func:`validate_job_spec` checks every field at the boundary and returns the JobSpec
fields (ICD order) without ``job_id`` and ``release_t_ns``; a bad spec raises
:class:`JobSpecError` naming the field, what was expected and what came. The limits
mirror the executor's acceptance checks (flightsw/apps/executor/core.py ``_refusal``,
payloads.py): a spec that passes here is not refused on board for its form.

Times: the archive's ``meta`` gives ``epoch_utc`` (ISO 8601) and ``now_t_ns`` (sim
time, ns since that epoch); deadlines become ``deadline_t_ns`` on that clock.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from flightsw.icd.messages import MAX_BOARDS, MAX_RESULT_BYTES, JobSpec
from flightsw.icd.results import matmul_result_bytes
from flightsw.icd.schema import FieldError, compile_checkers

__all__ = [
    "CHECKPOINT_COST_S",
    "JOB_KINDS",
    "MATMUL_MAX_N",
    "JobSpecError",
    "estimate",
    "load_job_spec_file",
    "parse_utc",
    "t_ns_of_utc",
    "utc_of_t_ns",
    "validate_job_spec",
]

JOB_KINDS = ("matmul", "synthetic")
MATMUL_MAX_N = 512  # flightsw/apps/executor/payloads.py MATMUL_MAX_N
# What one checkpoint (save, or load on resume) costs in board time [s]: the executor
# table's default checkpoint_cost_s (flightsw/apps/executor/table.py). The ground cannot
# read the active table, so the estimate uses the default.
CHECKPOINT_COST_S = 2.0
NS_PER_S = 1_000_000_000
MAX_DEADLINE_IN_S = 10 * 365 * 86400.0
_WORK_GPU_S = (1e-3, 1.0e8)  # JobSpec.work_gpu_s range
_CHECKPOINT_S = (0.0, 1.0e6)  # JobSpec.checkpoint_interval_s range
_PARAMS = {"matmul": ("n", "dual"), "synthetic": ("dual",)}
FIELDS = ("kind", "priority", "work_gpu_s", "boards_needed", "deadline_utc", "deadline_in_s",
          "checkpoint_interval_s", "input_bytes", "output_bytes", "seed", "params")
REQUIRED = ("kind", "priority", "work_gpu_s")
_ICD_CHECKS = dict(compile_checkers(JobSpec))


class JobSpecError(ValueError):
    """A job spec field is wrong. ``field`` names it; the message says expected and got."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


# ---------------------------------------------------------------------------- times
def parse_utc(value: Any, field: str = "time") -> datetime:
    """An aware UTC datetime from an ISO 8601 string with a zone ("...Z", "+02:00") or an
    aware datetime (TOML gives those). A time without a zone is refused: guessing the
    zone of a deadline is how deadlines get missed."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip())
        except ValueError:
            raise JobSpecError(field, "expected an ISO 8601 UTC time such as "
                               f"2025-03-21T12:00:00Z, got {value!r}") from None
    else:
        raise JobSpecError(field, f"expected an ISO 8601 UTC time string, got {type(value).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise JobSpecError(field, f"expected a time with a zone (e.g. ...Z or +00:00), got {value!s}")
    return dt.astimezone(UTC)


def t_ns_of_utc(dt: datetime, epoch: datetime) -> int:
    """Sim time [ns since ``epoch``] of an aware datetime (exact to the microsecond)."""
    delta = dt - epoch
    return ((delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds) * 1000


def utc_of_t_ns(t_ns: int, epoch: datetime) -> str:
    """ISO 8601 UTC ("...Z") of sim time ``t_ns`` after ``epoch`` (microseconds kept)."""
    dt = epoch + timedelta(microseconds=t_ns // 1000)
    spec = "microseconds" if dt.microsecond else "seconds"
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(timespec=spec) + "Z"


# ------------------------------------------------------------------------ validation
def _int(data: Mapping, name: str, lo: int, hi: int, default: Any = None, field: str = "") -> int:
    v = data.get(name, default)
    name = field or name
    if v is None:
        raise JobSpecError(name, f"expected an integer in [{lo}, {hi}], got nothing")
    if type(v) is not int:
        raise JobSpecError(name, f"expected an integer in [{lo}, {hi}], got {type(v).__name__} {v!r:.60}")
    if not lo <= v <= hi:
        raise JobSpecError(name, f"expected an integer in [{lo}, {hi}], got {v}")
    return v


def _num(data: Mapping, name: str, lo: float, hi: float, default: Any = None, unit: str = "") -> float:
    v = data.get(name, default)
    what = f"a number in [{lo:g}, {hi:g}]{unit}"
    if v is None:
        raise JobSpecError(name, f"expected {what}, got nothing")
    if type(v) not in (int, float):
        raise JobSpecError(name, f"expected {what}, got {type(v).__name__} {v!r:.60}")
    x = float(v) if abs(v) < 1e300 else math.inf
    if not math.isfinite(x) or not lo <= x <= hi:
        raise JobSpecError(name, f"expected {what}, got {v!r:.60}")
    return x


def _params(data: Mapping, kind: str) -> dict:
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise JobSpecError("params", f"expected a table of parameters, got {type(params).__name__}")
    allowed = _PARAMS[kind]
    for key in params:
        if key not in allowed:
            raise JobSpecError(f"params.{key}", f"unknown parameter for kind {kind!r}; "
                               f"expected one of {list(allowed)}")
    out: dict[str, Any] = {}
    if kind == "matmul":
        out["n"] = _int(params, "n", 1, MATMUL_MAX_N, field="params.n") if "n" in params else None
        if out["n"] is None:
            raise JobSpecError("params.n", f"expected an integer in [1, {MATMUL_MAX_N}] "
                               "(the matrix order) for kind 'matmul', got nothing")
    if "dual" in params:
        if type(params["dual"]) is not bool:
            raise JobSpecError("params.dual", f"expected true or false, got {params['dual']!r:.60}")
        out["dual"] = params["dual"]
    return out


def _deadline_t_ns(data: Mapping, now_t_ns: int, epoch: datetime | None) -> int:
    has_utc, has_in = "deadline_utc" in data, "deadline_in_s" in data
    if has_utc and has_in:
        raise JobSpecError("deadline_in_s", "expected deadline_utc or deadline_in_s, not both")
    if has_in:
        s = _num(data, "deadline_in_s", 0.0, MAX_DEADLINE_IN_S, unit=" s")
        if s <= 0:
            raise JobSpecError("deadline_in_s", f"expected a number of seconds > 0, got {s:g}")
        return now_t_ns + round(s * NS_PER_S)
    if has_utc:
        dt = parse_utc(data["deadline_utc"], "deadline_utc")
        if epoch is None:
            raise JobSpecError("deadline_utc", "the station has not written the epoch yet; "
                               "use deadline_in_s")
        t_ns = t_ns_of_utc(dt, epoch)
        if t_ns <= now_t_ns:
            now = utc_of_t_ns(now_t_ns, epoch)
            raise JobSpecError("deadline_utc", f"expected a time after now ({now}), got {data['deadline_utc']!s}")
        if t_ns > now_t_ns + MAX_DEADLINE_IN_S * NS_PER_S:
            raise JobSpecError("deadline_utc", "expected a time within 10 years of now, "
                               f"got {data['deadline_utc']!s}")
        return t_ns
    return -1


def _epoch(meta: Mapping) -> datetime | None:
    text = meta.get("epoch_utc")
    return None if text is None else parse_utc(text, "meta.epoch_utc")


def validate_job_spec(data: Any, meta: Mapping[str, Any]) -> dict:
    """Check an operator's job spec against the ICD and this satellite (``meta``: the
    archive's meta: board_count, now_t_ns, epoch_utc; missing keys relax their check).

    Returns the JobSpec fields by name, in ICD order, without job_id and release_t_ns.
    Raises JobSpecError naming the first bad field.
    """
    if not isinstance(data, dict):
        raise JobSpecError("spec", f"expected an object of job fields, got {type(data).__name__}")
    for key in data:
        if key not in FIELDS:
            raise JobSpecError(str(key), f"unknown field; expected one of {list(FIELDS)}")
    for key in REQUIRED:
        if key not in data:
            raise JobSpecError(key, "required field is missing")
    kind = data["kind"]
    if kind not in JOB_KINDS:
        raise JobSpecError("kind", f"expected one of {list(JOB_KINDS)}, got {kind!r:.60}")
    priority = _int(data, "priority", 0, 9)
    work_gpu_s = _num(data, "work_gpu_s", *_WORK_GPU_S, unit=" GPU-s")
    params = _params(data, kind)
    replicas = 2 if params.get("dual") else 1
    board_count = meta.get("board_count")
    most = MAX_BOARDS if board_count is None else max(0, int(board_count)) // replicas
    if most < 1:
        raise JobSpecError("boards_needed", f"expected a job that fits {board_count} board(s); "
                           f"a dual job needs two")
    boards_needed = _int(data, "boards_needed", 1, most, default=1)
    now_t_ns = int(meta.get("now_t_ns") or 0)
    deadline_t_ns = _deadline_t_ns(data, now_t_ns, _epoch(meta))
    checkpoint_s = _num(data, "checkpoint_interval_s", *_CHECKPOINT_S, default=0.0, unit=" s")
    input_bytes = _int(data, "input_bytes", 0, MAX_RESULT_BYTES, default=0)
    if kind == "matmul":
        size = matmul_result_bytes(params["n"])
        output_bytes = _int(data, "output_bytes", size, size, default=size)
    else:
        output_bytes = _int(data, "output_bytes", 0, MAX_RESULT_BYTES, default=0)
    seed = _int(data, "seed", 0, 2**32 - 1, default=0)
    spec = {"kind": kind, "priority": priority, "deadline_t_ns": deadline_t_ns,
            "boards_needed": boards_needed, "work_gpu_s": work_gpu_s,
            "checkpoint_interval_s": checkpoint_s, "input_bytes": input_bytes,
            "output_bytes": output_bytes, "seed": seed, "params": params}
    for name, value in spec.items():  # the ICD's own checks: what passes here encodes
        try:
            _ICD_CHECKS[name](value)
        except FieldError as exc:
            raise JobSpecError(name, str(exc)) from None
    return spec


def estimate(spec: Mapping[str, Any], meta: Mapping[str, Any]) -> dict:
    """What a validated spec will cost: ``{"energy_wh", "time_s"}``.

    Assumptions (a lower bound on time, an estimate of energy):
    - every board of the job runs at full power (``board_max_power_w``) from start to
      end: no waiting for sun or battery, no preemption, no reruns;
    - run time = work_gpu_s / boards_needed, plus one checkpoint (CHECKPOINT_COST_S of
      board time) per full checkpoint interval of run time;
    - energy = (work_gpu_s + checkpoint board time) * board_max_power_w / 3600, times 2
      for a dual job (two replicas do the work twice);
    - energy_wh is None while the station has not written ``board_max_power_w``.
    """
    boards = spec["boards_needed"]
    run_s = spec["work_gpu_s"] / boards
    interval_s = spec["checkpoint_interval_s"]
    checkpoints = math.floor(run_s / interval_s) if interval_s > 0 else 0
    time_s = run_s + checkpoints * CHECKPOINT_COST_S
    replicas = 2 if spec.get("params", {}).get("dual") else 1
    power_w = meta.get("board_max_power_w")
    energy_wh = None
    if power_w is not None:
        board_s = spec["work_gpu_s"] + boards * checkpoints * CHECKPOINT_COST_S
        energy_wh = replicas * board_s * float(power_w) / 3600.0
    return {"energy_wh": energy_wh, "time_s": time_s}


# ----------------------------------------------------------------------------- files
def _plain(value: Any) -> Any:
    """TOML dates and times as ISO strings, so the spec is JSON (sent to the API)."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_job_spec_file(path: Path | str) -> dict:
    """Read a spec file: TOML for ``.toml``, JSON for ``.json``, else sniffed (a leading
    ``{`` is JSON). Returns the raw fields (validate them with :func:`validate_job_spec`);
    raises JobSpecError (field ``file``) for an unreadable or unparsable file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise JobSpecError("file", f"expected a readable UTF-8 job spec file, got {p}: {exc}") from None
    is_json = p.suffix.lower() == ".json" or (p.suffix.lower() != ".toml" and text.lstrip().startswith("{"))
    try:
        data = json.loads(text) if is_json else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise JobSpecError("file", f"expected {'JSON' if is_json else 'TOML'} in {p}, got: {exc}") from None
    if not isinstance(data, dict):
        raise JobSpecError("file", f"expected an object of job fields in {p}, got {type(data).__name__}")
    return _plain(data)
