"""Supervisor (FDIR) core: health pings, restarts with a cap, the limit checker, stored
sequences and the mode manager, behind the common app framework. Pure: the shell feeds
it the inbox and persists :meth:`SupervisorCore.durable` before sending what it returns.

Per tick, in this order: commands and table loads (the framework); command answers
(sequences, actionpoint commands); pongs; restarts of dead processes (hub status);
pings, and restarts of hung processes; escalation to SAFE at a restart cap; the limit
checker; the running sequence; the mode order to the power manager; every
STATUS_EVERY_TICKS a SupervisorStatus and the framework's housekeeping.

Commands (Opcode 80-85): SUP_SET_MODE {mode, reason}, SUP_START_SEQUENCE {name},
SUP_CANCEL_SEQUENCE {name}, SUP_SET_ACTIONPOINT {id, state}, SUP_SET_WATCHPOINT {id,
enabled}, SUP_RESET_RESTARTS {process}. Events: supervisor.process_dead, .process_hung,
.restart_cap (FATAL), .ping_late, .ping_answered, .pong_wrong_nonce, .mode_changed,
.actionpoint_fired, .actionpoint_passive, .actionpoint_action_failed, .lc_command_failed,
.sequence_started, .sequence_completed, .sequence_aborted, .sequence_cancelled,
.restarts_reset. Commands the supervisor sends itself (an actionpoint's SUP_SET_MODE, a
sequence step for the supervisor) run locally, through the same framework, at once.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from typing import Any

from flightsw.apps.framework import AppFramework, CommandError, EventLog, arg_bool, arg_str
from flightsw.apps.supervisor.commands import make_cmd_id
from flightsw.apps.supervisor.health import HealthMonitor, NonceSource
from flightsw.apps.supervisor.limits import AP_STATES, CHANNEL_KINDS, Firing, LimitChecker
from flightsw.apps.supervisor.modes import MODE_TARGET, ModeManager
from flightsw.apps.supervisor.restarts import RestartManager
from flightsw.apps.supervisor.sequencer import Sequencer
from flightsw.apps.supervisor.tables import (
    SupervisorTable,
    SupervisorTables,
    default_actionpoints,
    default_sequences,
    default_watchpoints,
)
from flightsw.icd.messages import (
    MODE_RANK,
    AppCommand,
    CmdStatus,
    CommandResponse,
    Envelope,
    HealthPong,
    HubStatus,
    Message,
    Mode,
    Opcode,
    Severity,
    SupervisorStatus,
)

__all__ = ["SupervisorTable", "SupervisorCore", "STATUS_EVERY_TICKS", "SAFE_REASSERT_TICKS", "NAME"]

NAME = "supervisor"
STATUS_EVERY_TICKS = 10
SAFE_REASSERT_TICKS = SupervisorTable.safe_reassert_ticks
_CHANNEL_KIND_IDS = frozenset(c.KIND for c in CHANNEL_KINDS.values())
_RANK_MODE = {r: m for m, r in MODE_RANK.items()}

Out = list[tuple[object, str]]


class SupervisorCore:
    """``durable``: what the shell loaded from its store (see :meth:`durable`);
    ``nonce_seed``: seeds the ping nonces (the shell passes its start tick);
    ``subscribed``: the telemetry kinds the shell subscribed to (None: any)."""

    def __init__(self, table: SupervisorTable | None = None, *, watchpoints=None, actionpoints=None,
                 sequences=None, durable: Mapping[str, int] | None = None, nonce_seed: int = 0,
                 subscribed: frozenset[int] | None = None) -> None:
        self.events = EventLog()
        self.tables = SupervisorTables({
            "supervisor": table if table is not None else SupervisorTable(),
            "watchpoints": watchpoints if watchpoints is not None else default_watchpoints(),
            "actionpoints": actionpoints if actionpoints is not None else default_actionpoints(),
            "sequences": sequences if sequences is not None else default_sequences(),
        }, subscribed)
        self.fw = AppFramework(NAME, tables=self.tables, events=self.events, on_reset=self._reset_counters,
                               handlers={
                                   Opcode.SUP_SET_MODE: self._cmd_set_mode,
                                   Opcode.SUP_START_SEQUENCE: self._cmd_start_sequence,
                                   Opcode.SUP_CANCEL_SEQUENCE: self._cmd_cancel_sequence,
                                   Opcode.SUP_SET_ACTIONPOINT: self._cmd_set_actionpoint,
                                   Opcode.SUP_SET_WATCHPOINT: self._cmd_set_watchpoint,
                                   Opcode.SUP_RESET_RESTARTS: self._cmd_reset_restarts,
                               })
        self.restarts = RestartManager()
        self.health = HealthMonitor(NonceSource(nonce_seed))
        self.limits = LimitChecker()
        self.seq = Sequencer(self.table.sequence_response_timeout_ticks)
        self.modes = ModeManager()
        self.status: HubStatus | None = None  # the hub's last liveness report (sent on change)
        self.lc_commands_failed = 0
        self._configured: tuple[Any, Any] = (None, None)
        self._sync_tables()
        self._restore(durable or {})
        self._out: Out = []
        self._tick = 0
        self._t_ns = 0
        self._cmds_sent = 0  # this tick, for unique command ids

    # ------------------------------------------------------------------ state
    @property
    def table(self) -> SupervisorTable:
        return self.tables.active["supervisor"]

    def _restore(self, saved: Mapping[str, int]) -> None:
        r = self.restarts
        r.restarts = {k: v for k, v in saved.items() if not k.startswith("_")}
        r.capped = {k.split(":", 1)[1] for k, v in saved.items() if k.startswith("_capped:") and v}
        self.health.armed = {k.split(":", 1)[1] for k, v in saved.items() if k.startswith("_pong_seen:") and v}
        mode = _RANK_MODE.get(saved.get("_mode", MODE_RANK[Mode.NOMINAL.value]), Mode.NOMINAL.value)
        escalated = bool(saved.get("_escalated", 0))
        if escalated:
            mode = Mode.SAFE.value  # an escalation stored by an older supervisor without a mode
        self.modes.set(mode, "restored after a supervisor restart", escalation=escalated)

    def durable(self) -> dict[str, int]:
        """Everything that must survive a supervisor restart, as key -> integer: restart
        counts by process name, ``_capped:<p>``, ``_pong_seen:<p>``, ``_escalated``, ``_mode``
        (MODE_RANK). The shell saves the keys that changed before sending this tick's output."""
        names = set(self.table.watched) | set(self.restarts.restarts) | self.restarts.capped | self.health.armed
        d = {n: self.restarts.restarts.get(n, 0) for n in names}
        d.update({f"_capped:{n}": int(n in self.restarts.capped) for n in names})
        d.update({f"_pong_seen:{n}": int(n in self.health.armed) for n in names})
        d["_escalated"] = int(self.modes.escalated)
        d["_mode"] = MODE_RANK[self.modes.mode]
        return d

    def _sync_tables(self) -> None:
        a = self.tables.active
        key = (a["watchpoints"], a["actionpoints"])
        if key[0] is not self._configured[0] or key[1] is not self._configured[1]:
            self.limits.configure(*key)
            self._configured = key
        self.seq.response_timeout_ticks = self.table.sequence_response_timeout_ticks

    def _reset_counters(self) -> None:
        h, s, lc = self.health, self.seq, self.limits
        h.pings_sent = h.pongs_ok = h.pongs_wrong = h.hung_detected = 0
        s.started = s.completed = s.aborted = s.cancelled = 0
        lc.samples = lc.fired = lc.passive_fails = 0
        self.lc_commands_failed = 0

    # -------------------------------------------------------------------- out
    def _note(self, severity: Severity | int, name: str, text: str) -> None:
        ev = self.events.emit(self._tick, severity, name, text)
        if ev is not None:
            self._out.append((ev, ""))

    def _notes(self, notes: Sequence[tuple[Severity, str, str]]) -> None:
        for sev, name, text in notes:
            self._note(sev, name, text)

    def _next_cmd_id(self) -> int:
        self._cmds_sent += 1
        return make_cmd_id(self._tick, self._cmds_sent - 1)

    def _send(self, cmd: AppCommand) -> None:
        """A command out to its target; one for the supervisor itself runs here, now."""
        if cmd.target != NAME:
            self._out.append((cmd, cmd.target))
            return
        env = Envelope(cmd.KIND, cmd.VERSION, NAME, 0, self._tick, self._t_ns, NAME)
        for body, dst in self.fw.handle(self._tick, [Message(env, cmd)]):
            self._out.append((body, dst))
            if isinstance(body, CommandResponse):
                self._on_response(body)

    def _on_response(self, resp: CommandResponse) -> None:
        self._notes(self.seq.on_response(resp))
        if resp.source.startswith("lc:") and resp.status != CmdStatus.OK.value:
            self.lc_commands_failed += 1
            self._note(Severity.WARNING_HI, "supervisor.lc_command_failed",
                       f"actionpoint {resp.source[3:]}: command id {resp.cmd_id} answered "
                       f"{resp.status}: {resp.detail}")

    # ------------------------------------------------------------------- step
    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> Out:
        """One control period -> (body, dst) pairs to send (dst "" = publish)."""
        self._out, self._tick, self._t_ns, self._cmds_sent = [], tick, t_ns, 0
        self._out += self.fw.handle(tick, inbox)
        self._sync_tables()
        t = self.table
        latest: dict[int, object] = {}
        for m in inbox:
            body = m.body
            kind = type(body).KIND
            if kind == HubStatus.KIND:
                self.status = body
            elif kind == HealthPong.KIND:
                self._notes(self.health.on_pong(m.env.src, body.nonce))
            elif kind == CommandResponse.KIND:
                self._on_response(body)
            elif kind in _CHANNEL_KIND_IDS:
                latest[kind] = body
        alive = set(self.status.alive) if self.status is not None else None
        if self.status is not None:
            reqs, notes = self.restarts.on_status(tick, t.watched, set(self.status.dead), t.restart_delay_ticks,
                                                  t.retry_ticks, t.max_restarts)
            self._notes(notes)
            self._restart(reqs)
        pings, notes, hung = self.health.step(tick, t.watched, alive, t.ping_period_ticks, t.ping_warn_ticks,
                                              t.ping_fatal_ticks, t.ping_arm_on_first_pong)
        self._out += pings
        self._notes(notes)
        for name, silent in hung:
            reqs, notes = self.restarts.on_hung(name, silent, t.max_restarts)
            self.health.reset(name)
            self._notes(notes)
            self._restart(reqs)
        for why in self.restarts.escalations:
            self._notes(self.modes.set(Mode.SAFE.value, f"restart cap reached: {why}", escalation=True))
        self.restarts.escalations.clear()
        self.limits.sample(tick, latest)
        for firing in self.limits.evaluate(tick):
            self._act(firing)
        cmd, notes = self.seq.step(tick, t_ns, make_cmd_id(tick, self._cmds_sent))
        self._notes(notes)
        if cmd is not None:
            self._cmds_sent += 1
            self._send(cmd)
        self._out += self.modes.step(tick, t.safe_reassert_ticks)
        if tick % STATUS_EVERY_TICKS == 0:
            self._out.append((self.supervisor_status(tick), ""))
            self._out.append((self.fw.housekeeping(), ""))
        return self._out

    def _restart(self, reqs) -> None:
        for req in reqs:
            self._out.append((req, "hub"))
            if req.process == MODE_TARGET:
                self.modes.power_restarted(self._tick)

    def _act(self, f: Firing) -> None:
        ap = f.ap
        action = (ap.command.describe() if ap.command is not None
                  else f"start sequence {ap.sequence}" if ap.sequence else "event only")
        if not f.active:
            self._note(Severity.ACTIVITY_HI, "supervisor.actionpoint_passive",
                       f"{ap.id}: {ap.expression} for {f.consecutive} ticks (PASSIVE: would {action})")
            return
        self._note(Severity[ap.severity], "supervisor.actionpoint_fired",
                   f"{ap.id}: {ap.expression} for {f.consecutive} ticks: {ap.text or 'limit'}; "
                   f"action: {action}; now PASSIVE")
        if ap.command is not None:
            self._send(ap.command.to_app_command(self._next_cmd_id(), f"lc:{ap.id}"))
        elif ap.sequence:
            seq = self.tables.active["sequences"].get(ap.sequence)
            try:
                if seq is None:
                    raise CommandError(CmdStatus.VALIDATION_ERROR, f"no sequence {ap.sequence!r}")
                self._note(Severity.ACTIVITY_HI, "supervisor.sequence_started",
                           f"{self.seq.start(seq, self._t_ns)} by actionpoint {ap.id}")
            except CommandError as exc:
                self._note(Severity.WARNING_HI, "supervisor.actionpoint_action_failed",
                           f"{ap.id}: could not start sequence {ap.sequence}: {exc.status.value}: {exc.detail}")

    # ------------------------------------------------------------- commands
    def _cmd_set_mode(self, args: Mapping[str, Any], tick: int) -> str:
        mode = arg_str(args, "mode", choices=MODE_RANK)
        reason = arg_str(args, "reason", default="by command", maxlen=200)
        notes = self.modes.set(mode, reason)
        self._notes(notes)
        return f"mode {mode}" if notes else f"mode already {mode}"

    def _cmd_start_sequence(self, args: Mapping[str, Any], tick: int) -> str:
        seqs = self.tables.active["sequences"]
        name = arg_str(args, "name", choices=[s.name for s in seqs.entries])
        detail = self.seq.start(seqs.get(name), self._t_ns)
        self._note(Severity.ACTIVITY_HI, "supervisor.sequence_started", detail)
        return detail

    def _cmd_cancel_sequence(self, args: Mapping[str, Any], tick: int) -> str:
        detail = self.seq.cancel(arg_str(args, "name"))
        self._note(Severity.ACTIVITY_HI, "supervisor.sequence_cancelled", detail)
        return detail

    def _cmd_set_actionpoint(self, args: Mapping[str, Any], tick: int) -> str:
        ap_id = arg_str(args, "id", choices=self.limits.aps)
        state = arg_str(args, "state", choices=AP_STATES)
        self.limits.set_actionpoint(ap_id, state)
        return f"actionpoint {ap_id} {state}"

    def _cmd_set_watchpoint(self, args: Mapping[str, Any], tick: int) -> str:
        wp_id = arg_str(args, "id", choices=self.limits.wps)
        enabled = arg_bool(args, "enabled")
        self.limits.set_watchpoint(wp_id, enabled)
        return f"watchpoint {wp_id} {'enabled' if enabled else 'disabled'}"

    def _cmd_reset_restarts(self, args: Mapping[str, Any], tick: int) -> str:
        name = arg_str(args, "process", choices=self.table.watched)
        before = self.restarts.restarts.get(name, 0)
        self.restarts.reset(name)
        self.health.reset(name)
        self._note(Severity.ACTIVITY_HI, "supervisor.restarts_reset",
                   f"{name}: restart count {before} cleared, cap lifted")
        return f"{name} restart count cleared (was {before})"

    # ---------------------------------------------------------- reporting
    def supervisor_status(self, tick: int) -> SupervisorStatus:
        names = tuple(sorted(self.table.watched))
        return SupervisorStatus(
            processes=names,
            restarts=tuple(min(self.restarts.restarts.get(n, 0), 10**6) for n in names),
            safe_mode_ordered=self.modes.mode == Mode.SAFE.value,
            mode=self.modes.mode,
            pings_missed=tuple(min(self.health.missed(n, tick), 10**9) for n in names),
            sequence=self.seq.current(),
            actionpoints_failing=self.limits.failing()[:64],
        )

    def statistics(self) -> Mapping[str, Any]:
        """An immutable snapshot: the framework's counters and the supervisor's own."""
        h, s, lc = self.health, self.seq, self.limits
        return types.MappingProxyType({
            **self.fw.statistics(),
            "mode": self.modes.mode, "escalated": self.modes.escalated, "mode_changes": self.modes.changes,
            "restarts": dict(sorted(self.restarts.restarts.items())),
            "capped": tuple(sorted(self.restarts.capped)),
            "pings_sent": h.pings_sent, "pongs_ok": h.pongs_ok, "pongs_wrong_nonce": h.pongs_wrong,
            "hung_detected": h.hung_detected,
            "lc_samples": lc.samples, "actionpoints_fired": lc.fired, "actionpoints_passive_fails": lc.passive_fails,
            "lc_commands_failed": self.lc_commands_failed,
            "sequences_started": s.started, "sequences_completed": s.completed,
            "sequences_aborted": s.aborted, "sequences_cancelled": s.cancelled,
            "sequence": s.current(),
        })
