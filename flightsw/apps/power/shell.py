"""Power manager shell: the core, the eclipse forecaster, the framework, the store.

Each tick: answer commands, table loads and pings (framework); take the active tables
(a new "orbit" table rebuilds the forecaster); ask the forecaster for the outlook at
``t_ns``; step the core; make the mode, the SAFE order, the mode limit and the learned
solar power durable *before* the budget and events that announce them go out.

Stored in ``power.sqlite`` (a CounterStore: integers only, so the mean solar power is
kept in mW), synced to disk at each save; the gauge's interval (``gauge.py``, every 60
ticks) in ``power-gauge.sqlite``, which survives a crash but may lose its last saves to a
power cut (a staler interval is only a wider one). Left out: a table loaded in flight is
not stored; a restarted power manager starts from the tables it is built with (as cFS
apps reload their default tables).
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from flightsw.apps.common import latest
from flightsw.apps.framework import (
    FRAMEWORK_KINDS,
    AppFramework,
    TableService,
    arg_str,
    table_from_mapping,
)
from flightsw.apps.power.core import PowerInputs, PowerState, set_mode_limit, step
from flightsw.apps.power.gauge import GaugeState
from flightsw.apps.power.orbit_view import OrbitTable, OrbitView
from flightsw.apps.power.table import PowerTable
from flightsw.bus.participant import Out
from flightsw.icd.messages import (
    MODE_RANK,
    BoardCommand,
    Message,
    Mode,
    Opcode,
    PowerSensors,
    SetMode,
    ThermalCaps,
)
from flightsw.store.kv import CounterStore

__all__ = ["PowerApp", "make"]

HOUSEKEEPING_EVERY_TICKS = 10
WORLD = "world"  # the power distribution: the payload rail's switches
SOLAR_SAVE_EVERY_TICKS = 600  # the learned solar power changes slowly: store it this often
# the gauge's interval moves every reading: stored this often, and at once when it is first
# made or its verdict changes (a restart widens it by the battery's limits over the time since, so a staler copy
# is only a looser one: a minute at the campaign battery's limits, 3.5 % of it down). Every
# 10 ticks cost a quarter of the power manager's time per tick (bench/app_step_cost.py).
GAUGE_SAVE_EVERY_TICKS = 60
GAUGE_VERDICTS = ("ok", "low", "high")
NS_PER_MS = 1_000_000
MODE_OF_RANK = {rank: mode for mode, rank in MODE_RANK.items()}
MW_PER_W = 1000


class PowerApp:
    name = "power"
    period_ticks = 1
    subscriptions = frozenset({PowerSensors.KIND, SetMode.KIND, ThermalCaps.KIND}) | FRAMEWORK_KINDS

    def __init__(self, table: PowerTable, store_dir: Path | str | None = None,
                 orbit: OrbitTable | None = None) -> None:
        orbit = orbit if orbit is not None else OrbitTable()
        self.fw = AppFramework("power", tables=TableService({"power": table, "orbit": orbit}),
                               handlers={int(Opcode.POWER_SET_MODE_LIMIT): self._cmd_mode_limit},
                               on_reset=self._reset_counters)
        self.view = OrbitView(orbit)
        self.state = PowerState()
        self.budgets_sent = 0
        self.sheds = 0  # payload sheds sent in SAFE
        self.store = CounterStore(Path(store_dir) / "power.sqlite") if store_dir else None
        # the gauge's interval, saved every minute, in its own store: a save that a power
        # cut loses only leaves a staler, looser interval (kv.py)
        self.gauge_store = CounterStore(Path(store_dir) / "power-gauge.sqlite", "NORMAL") if store_dir else None
        if self.store is not None and self.gauge_store is not None:
            self.state = replace(_restore(self.store.load()), gauge=_restore_gauge(self.gauge_store.load()))
        self._saved = self._durable()
        self._solar_saved = self.state.solar_mean_w
        self._verdict_saved = self.state.gauge.verdict
        self._gauge_saved = False  # the first interval is stored at once, then every minute

    @property
    def table(self) -> PowerTable:
        return self.fw.tables.active["power"]

    # ------------------------------------------------------------------ the tick
    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[Out]:
        outs = [Out(b, d) for b, d in self.fw.handle(tick, inbox)]
        table = self.table
        self.view.use(self.fw.tables.active["orbit"])
        caps = latest(inbox, ThermalCaps)
        inputs = PowerInputs(
            sensors=latest(inbox, PowerSensors),
            outlook=self.view.outlook(t_ns, table.eclipse_reserve_s, table.fallback_period_s),
            set_mode=latest(inbox, SetMode),
            heater_w=None if caps is None else caps.heater_w,
            t_ns=t_ns,
        )
        was = self.state.mode
        self.state, budget, notes = step(self.state, table, inputs)
        self._persist(tick)  # durable before it is announced
        if self.state.mode == Mode.SAFE.value and table.payload_boards and (
                was != Mode.SAFE.value or tick % table.shed_every_ticks == 0):
            n = table.payload_boards  # the payload rail off: whatever the executor can or cannot do
            outs.append(Out(BoardCommand((0.0,) * n, ("",) * n, (0,) * n), WORLD))
            self.sheds += 1
        for note in notes:
            ev = self.fw.events.emit(tick, note.severity, note.name, note.text)
            if ev is not None:
                outs.append(Out(ev))
        if budget is not None:
            self.budgets_sent += 1
            outs.append(Out(budget))
        if tick % HOUSEKEEPING_EVERY_TICKS == 0:
            outs.append(Out(self.fw.housekeeping()))
        return outs

    # ------------------------------------------------------------------ commands
    def _cmd_mode_limit(self, args: Mapping[str, Any], tick: int) -> str:
        mode = arg_str(args, "mode", choices=MODE_RANK)
        old = self.state.mode_limit
        self.state = set_mode_limit(self.state, mode)
        self._persist(tick)
        return f"mode limit {mode} (was {old})"

    def _reset_counters(self) -> None:
        self.budgets_sent = 0

    # ------------------------------------------------------------------ the store
    def _durable(self) -> tuple:
        s = self.state
        return (s.mode, s.forced_safe, s.mode_limit, s.transitions)

    def _persist(self, tick: int) -> None:
        if self.store is None or self.gauge_store is None:
            return
        g = self.state.gauge
        if g.lo_wh is not None and g.hi_wh is not None and g.t_ns is not None and (
                tick % GAUGE_SAVE_EVERY_TICKS == 0 or g.verdict != self._verdict_saved or not self._gauge_saved):
            self.gauge_store.save({  # lo rounded down, hi up: a restored interval is never narrower
                "gauge_lo_mwh": math.floor(g.lo_wh * MW_PER_W), "gauge_hi_mwh": math.ceil(g.hi_wh * MW_PER_W),
                "gauge_t_ms": g.t_ns // NS_PER_MS, "gauge_capacity_mwh": round(g.capacity_wh * MW_PER_W),
                "gauge_verdict": GAUGE_VERDICTS.index(g.verdict), "gauge_rejected": g.rejected})
            self._verdict_saved, self._gauge_saved = g.verdict, True
        now = self._durable()
        solar_due = (self.state.solar_mean_w != self._solar_saved and tick % SOLAR_SAVE_EVERY_TICKS == 0)
        if now == self._saved and not solar_due:
            return
        s = self.state
        self.store.save({
            "mode_rank": MODE_RANK[s.mode],
            "forced_safe": int(s.forced_safe),
            "mode_limit_rank": MODE_RANK[s.mode_limit],
            "transitions": s.transitions,
            "solar_mean_mw": -1 if s.solar_mean_w is None else round(s.solar_mean_w * MW_PER_W),
            "solar_readings": s.solar_readings,
        })
        self._saved, self._solar_saved = now, s.solar_mean_w

    # ------------------------------------------------------------------ reports
    def statistics(self) -> Mapping[str, Any]:
        """An immutable snapshot: framework counters and the power manager's own."""
        s = self.state
        fc = self.view.forecaster
        return types.MappingProxyType({
            **self.fw.statistics(),
            "mode": s.mode,
            "mode_transitions": s.transitions,
            "forced_safe": s.forced_safe,
            "mode_limit": s.mode_limit,
            "budgets_sent": self.budgets_sent,
            "budget_w": s.budget_w,
            "solar_mean_w": s.solar_mean_w,
            "forecast_source": s.forecast_source,
            "gauge_verdict": s.gauge.verdict,
            "gauge_rejected": s.gauge.rejected,
            "forecaster_rebuilds": self.view.rebuilds,
            "forecaster_failures": self.view.failures,
            "forecaster_recomputes": 0 if fc is None else fc.statistics().recomputes,
        })

    def final_report(self) -> dict:
        s = self.state
        return {"mode": s.mode, "budgets_sent": self.budgets_sent, "payload_sheds": self.sheds,
                "mode_transitions": s.transitions,
                "forced_safe": s.forced_safe, "mode_limit": s.mode_limit,
                "solar_mean_w": s.solar_mean_w, "forecast_source": s.forecast_source,
                "gauge_verdict": s.gauge.verdict, "gauge_rejected": s.gauge.rejected}

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
        if self.gauge_store is not None:
            self.gauge_store.close()


def _restore(saved: Mapping[str, int]) -> PowerState:
    """The durable part of the state from the store ({} on a first boot)."""
    if not saved:
        return PowerState()
    if "mode_rank" in saved:
        mode = MODE_OF_RANK.get(saved["mode_rank"], Mode.SAFE.value)
    else:  # the store of the previous power manager: a SAFE flag only
        mode = Mode.SAFE.value if saved.get("safe") else Mode.NOMINAL.value
    solar_mw = saved.get("solar_mean_mw", -1)
    return PowerState(
        mode=mode,
        forced_safe=bool(saved.get("forced_safe", 0)),
        mode_limit=MODE_OF_RANK.get(saved.get("mode_limit_rank", MODE_RANK[Mode.COMPUTE.value]),
                                    Mode.COMPUTE.value),
        transitions=max(0, saved.get("transitions", 0)),
        solar_mean_w=None if solar_mw < 0 else solar_mw / MW_PER_W,
        solar_readings=max(0, saved.get("solar_readings", 0)),
    )


def _restore_gauge(saved: Mapping[str, int]) -> GaugeState:
    """The gauge's interval as last stored (the first reading widens it over the gap)."""
    cap_wh = max(0, saved.get("gauge_capacity_mwh", 0)) / MW_PER_W
    if "gauge_lo_mwh" not in saved or cap_wh <= 0.0:
        return GaugeState()
    lo_wh = min(max(0, saved["gauge_lo_mwh"]) / MW_PER_W, cap_wh)
    hi_wh = min(max(0, saved.get("gauge_hi_mwh", 0)) / MW_PER_W, cap_wh)
    verdict = saved.get("gauge_verdict", 0)
    return GaugeState(lo_wh=lo_wh, hi_wh=max(lo_wh, hi_wh), t_ns=saved.get("gauge_t_ms", 0) * NS_PER_MS,
                      capacity_wh=cap_wh,
                      verdict=GAUGE_VERDICTS[verdict] if 0 <= verdict < len(GAUGE_VERDICTS) else "ok",
                      rejected=max(0, saved.get("gauge_rejected", 0)))


def make(start_tick: int, table: dict, store_dir: str | None = None, orbit: dict | None = None) -> PowerApp:
    """Build the power manager. table: PowerTable fields; orbit: OrbitTable fields
    (tle_line1, tle_line2, epoch_utc as ISO 8601 text or a datetime, edge_margin_s),
    None = no TLE yet. Bad fields raise TableError naming the field."""
    orbit_values = dict(orbit or {})
    epoch = orbit_values.get("epoch_utc")
    if epoch is not None and hasattr(epoch, "isoformat"):
        orbit_values["epoch_utc"] = epoch.isoformat()
    return PowerApp(table_from_mapping(PowerTable, table), store_dir,
                    table_from_mapping(OrbitTable, orbit_values))
