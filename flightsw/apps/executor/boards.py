"""Board health for the executor: hangs, failed boots, dead boards (pure).

From each tick's BoardSensors and the job each board was last commanded to run, it
decides which boards need a power cycle and which have failed for good. It never
commands anything itself: the core turns its :class:`BoardAction` list into preemptions,
BoardCommand switches, store operations and events.

What the board management controller reports (BoardSensors.state): 0 OFF, 1 BOOTING,
2 IDLE, 3 ACTIVE, 5 NO_RESPONSE. A hung board (a SEFI) still looks ACTIVE: the only sign
is that it reports no work. So:

- hung: commanded with a job, ACTIVE, and no work for ``hang_ticks`` ticks in a row;
- failed to come back: commanded on, and not up (IDLE or ACTIVE) ``boot_timeout_s``
  after the command (unless it is colder than ``cold_boot_limit_c``: a cold board's
  power-on is refused until it warms, which is not a failure: the timeout restarts);
- dead: commanded on and NO_RESPONSE for ``no_response_ticks`` ticks in a row.

A hung board or one that did not come back is power-cycled (switched off for one tick,
then back in the pool: the next job given to it boots it, and the boot timeout watches
that boot). After ``power_cycle_attempts`` cycles without the board doing any work in
between it is taken out of service, as is a dead board at once. Out of service is
durable (the core stores it) and only a command (EXEC_BOARD_SERVICE) puts it back.

Boards without a job are switched off by the executor, so health is only judged while a
board is commanded on: a board that fails while off is found the next time it is used.
Left out: a brownout (the bus cannot carry the boards: they report ACTIVE and no work)
that lasts ``hang_ticks`` looks like a hang and costs a needless power cycle; partial
hangs (a board that works slowly) are not detected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from flightsw.icd.messages import BoardSensors

__all__ = ["BoardAction", "BoardHealth", "OFF", "BOOTING", "IDLE", "ACTIVE", "NO_RESPONSE"]

OFF, BOOTING, IDLE, ACTIVE, NO_RESPONSE = 0, 1, 2, 3, 5
_NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class BoardAction:
    """``kind``: "power_cycle" (switch the board off for a tick, its job loses the work
    since its checkpoint) or "out_of_service" (failed for good); ``reason`` says why."""

    board: int
    kind: str
    reason: str


@dataclass
class BoardHealth:
    n_boards: int
    out_of_service: dict[int, str] = field(default_factory=dict)  # board -> why
    power_cycles: int = 0
    _hang: list[int] = field(default_factory=list)  # ticks in a row ACTIVE without work
    _silent: list[int] = field(default_factory=list)  # ticks in a row NO_RESPONSE
    _on_since_ns: list[int] = field(default_factory=list)  # commanded on since (-1: off)
    _up: list[bool] = field(default_factory=list)  # seen up since commanded on
    _attempts: list[int] = field(default_factory=list)  # power cycles since it last worked
    _off_until_tick: list[int] = field(default_factory=list)  # held off for a cycle until

    def __post_init__(self) -> None:
        n = self.n_boards
        self._hang, self._silent = [0] * n, [0] * n
        self._on_since_ns, self._up = [-1] * n, [False] * n
        self._attempts, self._off_until_tick = [0] * n, [-1] * n

    # ------------------------------------------------------------------- queries
    def available(self, tick: int) -> list[bool]:
        """Per board: in service and not held off for a power cycle at ``tick``."""
        return [b not in self.out_of_service and tick >= self._off_until_tick[b] for b in range(self.n_boards)]

    def in_service_count(self) -> int:
        return self.n_boards - len(self.out_of_service)

    # ------------------------------------------------------------------- updates
    def observe(self, tick: int, t_ns: int, sensors: BoardSensors | None, commanded: Sequence[str],
                table) -> list[BoardAction]:
        """Judge each board from this tick's readings. ``commanded``: the job each board
        was last commanded to run ("" = switched off); ``table``: an ExecutorTable. Returns
        the actions due, at most one per board; power cycles are already counted and the
        board held off, boards out of service already recorded here."""
        actions: list[BoardAction] = []
        states = sensors.state if sensors is not None and len(sensors.state) == self.n_boards else None
        work = sensors.work_gpu_s if sensors is not None else ()
        on_since = self._on_since_ns
        for b in range(self.n_boards):
            if not (b < len(commanded) and commanded[b]):
                if on_since[b] >= 0:  # switched off: nothing to watch
                    self._reset(b)
                # ... but a switched-off board's controller still answers (OFF); one that
                # does not has failed (e.g. dead from launch): out of service before any job
                if states is not None and b not in self.out_of_service:
                    if states[b] == NO_RESPONSE:
                        self._silent[b] += 1
                        if self._silent[b] >= table.no_response_ticks:
                            actions.append(self.take_out(
                                b, f"board {b}: no response for {self._silent[b]} ticks while switched off"))
                    else:
                        self._silent[b] = 0
                continue
            if b in self.out_of_service:
                continue
            if on_since[b] < 0:
                on_since[b] = t_ns
            if b >= len(work):
                continue
            if work[b] > 0.0 and self._up[b] and not self._attempts[b]:  # the usual case: at work
                self._hang[b] = self._silent[b] = 0
                continue
            action = self._judge(b, tick, t_ns, sensors, states, table)
            if action is not None:
                actions.append(action)
        return actions

    def _judge(self, b: int, tick: int, t_ns: int, sensors: BoardSensors, states, table) -> BoardAction | None:
        if sensors.work_gpu_s[b] > 0.0:  # working: healthy, and its recoveries succeeded
            self._attempts[b] = self._hang[b] = self._silent[b] = 0
            self._up[b] = True
            return None
        if states is None:  # no controller states in these readings: nothing more to judge
            return None
        state = states[b]
        if state == NO_RESPONSE:
            self._silent[b] += 1
            if self._silent[b] >= table.no_response_ticks:
                return self.take_out(b, f"board {b}: no response for {self._silent[b]} ticks while commanded on")
            return None
        self._silent[b] = 0
        if state in (IDLE, ACTIVE):
            self._up[b] = True
        if state == ACTIVE:
            self._hang[b] += 1
            if self._hang[b] >= table.hang_ticks:
                return self._recover(b, tick, f"board {b}: hung (ACTIVE without work for {self._hang[b]} ticks)",
                                     table)
            return None
        self._hang[b] = 0
        if not self._up[b] and t_ns - self._on_since_ns[b] >= table.boot_timeout_s * _NS_PER_S:
            ok = not sensors.temp_ok or sensors.temp_ok[b]
            if ok and sensors.temp_c[b] < table.cold_boot_limit_c:  # refused while cold: wait
                self._on_since_ns[b] = t_ns
                return None
            return self._recover(b, tick, f"board {b}: not up {table.boot_timeout_s:g} s after power-on", table)
        return None

    def _recover(self, b: int, tick: int, reason: str, table) -> BoardAction:
        if self._attempts[b] >= table.power_cycle_attempts:
            return self.take_out(b, f"{reason}, after {self._attempts[b]} power cycle(s)")
        self._attempts[b] += 1
        self.power_cycles += 1
        self._reset(b)
        self._off_until_tick[b] = tick + 1  # off in this tick's command, back in the next
        return BoardAction(b, "power_cycle", f"{reason}: power cycle {self._attempts[b]} of "
                                             f"{table.power_cycle_attempts}")

    def take_out(self, b: int, reason: str) -> BoardAction:
        self.out_of_service[b] = reason[:256]
        self._reset(b)
        return BoardAction(b, "out_of_service", reason[:256])

    def put_back(self, b: int) -> None:
        self.out_of_service.pop(b, None)
        self._reset(b)
        self._attempts[b] = 0
        self._off_until_tick[b] = -1

    def restore(self, out_of_service: Mapping[int, str], power_cycles: int) -> None:
        self.out_of_service = {b: r for b, r in out_of_service.items() if 0 <= b < self.n_boards}
        self.power_cycles = power_cycles

    def _reset(self, b: int) -> None:
        self._hang[b] = self._silent[b] = 0
        self._on_since_ns[b] = -1
        self._up[b] = False
