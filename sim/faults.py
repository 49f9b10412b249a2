"""Fault-plan entries beyond process kills and sensor faults: board faults, radiation
bursts and planned commands. Pure validators over the TOML tables of a fault plan.

    [[board]]                      # a fault injected into one GPU board at one tick
    board = 3                      # 0 <= board < the scenario's board count
    tick = 5000                    # >= 1
    fault = "hang"                 # "hang" (a SEFI: hangs until power-cycled) | "fail" (for good)
                                   # | "sdc" (a bit flip in the working job's memory)

    [[radiation]]                  # a burst: every radiation rate x multiplier
    start_tick = 20000             # >= 1, first tick of the burst
    end_tick = 23600               # > start_tick, first tick after it
    multiplier = 10.0              # finite, > 0

    [[command]]                    # sent by the ground station from its tick, in contact
    tick = 3000                    # >= 1
    target = "executor"            # an onboard app
    opcode = 0                     # 0..65535
    args = {}                      # a table of scalars (optional)

    [[stall]]                      # an onboard process's loop hangs (a deadlock, a livelock)
    process = "executor"           # an onboard process
    tick = 800                     # >= 1, the first tick it is stuck
    ticks = 120                    # >= 1: it answers nothing, health pings included, for so
                                   # long, unless the supervisor has it restarted first

    [[link]]                       # the space link misbehaves in a window (both directions)
    start_tick = 600               # >= 1, first tick of the window
    end_tick = 900                 # > start_tick, first tick after it
    loss = 0.3                     # frames lost, [0, 1] (optional; 1: a lost pass)
    ber = 1e-5                     # bit error rate, [0, 0.5] (optional)
    duplicate = 0.2                # frames delivered twice, [0, 1] (optional)
    reorder = true                 # each tick's frames delivered shuffled (optional)

    [[frame]]                      # the ground sends a bad telecommand frame (in contact)
    tick = 700                     # >= 1
    kind = "forged"                # "garbage" (random bytes), "truncated" (its last good
                                   # frame cut short), "forged" (that frame with its
                                   # authentication tag changed), "replayed" (that frame again)

    [[ground]]                     # the ground segment acts on a job of the workload
    tick = 600                     # >= 1
    action = "duplicate"           # "duplicate": its upload goes up once more, as a retry
                                   # after a lost acknowledgement would; "cancel": an
                                   # operator cancels it (on the ground if not yet sent)
    job = "job-00012"              # a job id of the scenario's workload

    [[damage]]                     # a part of the power system is lost for good
    tick = 2500                    # >= 1
    part = "battery"               # "battery": cell strings lost (the capacity and the
                                   # energy stored in them); "panels": array strings lost
                                   # (debris, a failed string: the solar power)
    fraction = 0.25                # of what is left, in (0, 1)

Each parser takes the entries (a list of tables) and returns frozen records, or raises
ValueError naming the entry and field (``board[1].tick``), what was expected and what
came. Unknown keys are refused. The board index is checked against a board count when
one is given (the harness checks again against the scenario, as for sensor faults).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

__all__ = [
    "BOARD_FAULTS",
    "BoardFault",
    "RadiationBurst",
    "parse_board_faults",
    "parse_radiation_bursts",
    "parse_commands",
    "parse_bad_frames",
    "parse_damage",
    "parse_ground_actions",
    "parse_link_faults",
    "parse_stalls",
    "as_dicts",
]

BOARD_FAULTS = ("hang", "fail", "sdc")
MAX_OPCODE = 65535
_BOARD_KEYS = ("board", "tick", "fault")
_BURST_KEYS = ("start_tick", "end_tick", "multiplier")
_COMMAND_KEYS = ("tick", "target", "opcode", "args")
_STALL_KEYS = ("process", "tick", "ticks")
_FRAME_KEYS = ("tick", "kind")
BAD_FRAMES = ("garbage", "truncated", "forged", "replayed")
_LINK_KEYS = ("start_tick", "end_tick", "loss", "ber", "duplicate", "reorder")
_GROUND_KEYS = ("tick", "action", "job")
_DAMAGE_KEYS = ("tick", "part", "fraction")
DAMAGE_PARTS = ("battery", "panels")
GROUND_ACTIONS = ("duplicate", "cancel")


@dataclass(frozen=True)
class BoardFault:
    """``fault`` ("hang" or "fail") strikes board ``board`` at tick ``tick``."""

    board: int
    tick: int
    fault: str


@dataclass(frozen=True)
class RadiationBurst:
    """Every radiation rate x ``multiplier`` for ticks start_tick <= k < end_tick."""

    start_tick: int
    end_tick: int
    multiplier: float


def as_dicts(records: Sequence) -> list[dict]:
    """Records as plain dicts (what the harness ships to a participant's process)."""
    return [asdict(r) for r in records]


def entry_tables(entries: object, where: str, keys: Sequence[str]) -> list[tuple[str, dict]]:
    """(``where[i]``, table) for each entry of a fault-plan array of tables, each checked
    to be a table with no key outside ``keys``."""
    if not isinstance(entries, (list, tuple)):
        raise ValueError(f"{where}: expected an array of tables, got {type(entries).__name__}")
    out = []
    for i, e in enumerate(entries):
        at = f"{where}[{i}]"
        if not isinstance(e, dict):
            raise ValueError(f"{at}: expected a table, got {type(e).__name__}")
        extra = sorted(set(e) - set(keys))
        if extra:
            raise ValueError(f"{at}: unknown key(s) {extra}; expected {', '.join(keys)}")
        out.append((at, e))
    return out


def need_int(at: str, key: str, v: object, lo: int, hi: int | None = None) -> int:
    if type(v) is not int or v < lo or (hi is not None and v > hi):
        want = f"an integer >= {lo}" if hi is None else f"an integer in {lo}..{hi}"
        raise ValueError(f"{at}.{key}: expected {want}, got {v!r}")
    return v


def need_choice(at: str, key: str, v: object, choices: Sequence) -> object:
    """``v`` if it is one of ``choices``, else ValueError naming the field."""
    if v not in choices:
        raise ValueError(f"{at}.{key}: expected one of {list(choices)}, got {v!r}")
    return v


def need_window(at: str, e: dict) -> tuple[int, int]:
    """(start_tick, end_tick) of a table, start >= 1 and end > start."""
    start = need_int(at, "start_tick", e.get("start_tick"), 1)
    end = e.get("end_tick")
    if type(end) is not int or end <= start:
        raise ValueError(f"{at}.end_tick: expected an integer > start_tick ({start}), got {end!r}")
    return start, end


def parse_board_faults(entries: object, n_boards: int | None = None,
                       where: str = "board") -> list[BoardFault]:
    """``[[board]]`` tables -> BoardFault records (see the module docstring).
    ``n_boards``: when given, ``board`` must be below it."""
    out = []
    for at, e in entry_tables(entries, where, _BOARD_KEYS):
        board = e.get("board")
        if n_boards is not None:
            if type(board) is not int or not 0 <= board < n_boards:
                raise ValueError(f"{at}.board: expected an integer in 0..{n_boards - 1} "
                                 f"(the scenario has {n_boards} boards), got {board!r}")
        else:
            need_int(at, "board", board, 0)
        tick = need_int(at, "tick", e.get("tick"), 1)
        fault = need_choice(at, "fault", e.get("fault"), BOARD_FAULTS)
        out.append(BoardFault(board, tick, fault))
    return out


def parse_radiation_bursts(entries: object, where: str = "radiation") -> list[RadiationBurst]:
    """``[[radiation]]`` tables -> RadiationBurst records (see the module docstring)."""
    out = []
    for at, e in entry_tables(entries, where, _BURST_KEYS):
        start, end = need_window(at, e)
        m = e.get("multiplier")
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not (math.isfinite(m) and m > 0):
            raise ValueError(f"{at}.multiplier: expected a finite number > 0, got {m!r}")
        out.append(RadiationBurst(start, end, float(m)))
    return out


def parse_commands(entries: object, targets: Sequence[str], where: str = "command") -> list[dict]:
    """``[[command]]`` tables -> dicts {tick, target, opcode, args} (args defaults to {}).
    ``targets``: the onboard apps a command may go to."""
    out = []
    for at, e in entry_tables(entries, where, _COMMAND_KEYS):
        tick = need_int(at, "tick", e.get("tick"), 1)
        target = need_choice(at, "target", e.get("target"), targets)
        opcode = need_int(at, "opcode", e.get("opcode"), 0, MAX_OPCODE)
        args = e.get("args", {})
        if not isinstance(args, dict):
            raise ValueError(f"{at}.args: expected a table of scalars, got {type(args).__name__}")
        for k, v in args.items():
            if not isinstance(v, (str, int, float, bool)) or (isinstance(v, float) and not math.isfinite(v)):
                raise ValueError(f"{at}.args.{k}: expected a string, integer, finite number or "
                                 f"boolean, got {v!r}")
        out.append({"tick": tick, "target": target, "opcode": opcode, "args": dict(args)})
    return out


def parse_stalls(entries: object, processes: Sequence[str], where: str = "stall") -> list[dict]:
    """``[[stall]]`` tables -> dicts {process, tick, ticks}. ``processes``: the onboard ones."""
    out = []
    for at, e in entry_tables(entries, where, _STALL_KEYS):
        proc = need_choice(at, "process", e.get("process"), processes)
        out.append({"process": proc, "tick": need_int(at, "tick", e.get("tick"), 1),
                    "ticks": need_int(at, "ticks", e.get("ticks"), 1)})
    return out


def parse_ground_actions(entries: object, job_ids: Sequence[str] | None = None,
                         where: str = "ground") -> list[dict]:
    """``[[ground]]`` tables -> dicts {tick, action, job}. ``job_ids``: when given, the
    workload's job ids, which ``job`` must be one of."""
    out = []
    for at, e in entry_tables(entries, where, _GROUND_KEYS):
        tick = need_int(at, "tick", e.get("tick"), 1)
        action = need_choice(at, "action", e.get("action"), GROUND_ACTIONS)
        job = e.get("job")
        if not isinstance(job, str) or (job_ids is not None and job not in job_ids):
            want = "a job id of the scenario's workload" if job_ids is not None else "a job id (a string)"
            raise ValueError(f"{at}.job: expected {want}, got {job!r}")
        out.append({"tick": tick, "action": action, "job": job})
    return out


def parse_link_faults(entries: object, where: str = "link") -> list[dict]:
    """``[[link]]`` tables -> dicts {start_tick, end_tick, loss, ber, duplicate, reorder}
    (loss and ber None when not given: the link's own; duplicate 0.0, reorder False)."""
    out = []
    for at, e in entry_tables(entries, where, _LINK_KEYS):
        start, end = need_window(at, e)
        f: dict = {"start_tick": start, "end_tick": end}
        for key, hi, default in (("loss", 1.0, None), ("ber", 0.5, None), ("duplicate", 1.0, 0.0)):
            v = e.get(key, default)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= hi):
                raise ValueError(f"{at}.{key}: expected a number in [0, {hi:g}], got {v!r}")
            f[key] = None if v is None else float(v)
        reorder = e.get("reorder", False)
        if not isinstance(reorder, bool):
            raise ValueError(f"{at}.reorder: expected true or false, got {reorder!r}")
        f["reorder"] = reorder
        out.append(f)
    return out


def parse_bad_frames(entries: object, where: str = "frame") -> list[dict]:
    """``[[frame]]`` tables -> dicts {tick, kind}."""
    out = []
    for at, e in entry_tables(entries, where, _FRAME_KEYS):
        tick = need_int(at, "tick", e.get("tick"), 1)
        kind = need_choice(at, "kind", e.get("kind"), BAD_FRAMES)
        out.append({"tick": tick, "kind": kind})
    return out


def parse_damage(entries: object, where: str = "damage") -> list[dict]:
    """``[[damage]]`` tables -> dicts {tick, part, fraction}."""
    out = []
    for at, e in entry_tables(entries, where, _DAMAGE_KEYS):
        tick = need_int(at, "tick", e.get("tick"), 1)
        part = need_choice(at, "part", e.get("part"), DAMAGE_PARTS)
        f = e.get("fraction")
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0.0 < f < 1.0:
            raise ValueError(f"{at}.fraction: expected a number in (0, 1), got {f!r}")
        out.append({"tick": tick, "part": part, "fraction": float(f)})
    return out
