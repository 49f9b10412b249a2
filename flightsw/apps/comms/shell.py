"""Link manager shell: the core, the common framework (commands, tables, health), the key
store and the durable anti-replay counters (``comms.sqlite``)."""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flightsw.apps.comms.core import HK_KINDS, CommsCore, CommsTable, split_inbox
from flightsw.apps.framework import (
    FRAMEWORK_KINDS,
    AppFramework,
    CommandError,
    TableService,
    arg_int,
)
from flightsw.bus.participant import Out
from flightsw.icd.linkauth import Keyring
from flightsw.icd.messages import (
    AppCommand,
    AppHousekeeping,
    CmdStatus,
    CommandResponse,
    ContactState,
    Envelope,
    Event,
    JobAck,
    JobState,
    Message,
    Opcode,
    ResultData,
    TableDump,
    TableLoad,
    UplinkFrame,
)
from flightsw.icd.spacelink import LinkError, TcVerifier
from flightsw.store.kv import CounterStore

__all__ = ["CommsApp", "make"]

HOUSEKEEPING_EVERY_TICKS = 10
_ACTIVE = "active_key_id"
_LAST = "last_seq."
_FILE_SEQ = "cfdp_next_seq"


class CommsApp:
    name = "comms"
    period_ticks = 1
    subscriptions = frozenset(
        {ContactState.KIND, UplinkFrame.KIND, JobAck.KIND, JobState.KIND, ResultData.KIND,
         CommandResponse.KIND, TableDump.KIND, Event.KIND} | HK_KINDS | FRAMEWORK_KINDS
    )

    def __init__(self, table: CommsTable, keyring: Keyring, store_dir: Path | None = None) -> None:
        self.store = CounterStore(Path(store_dir) / "comms.sqlite") if store_dir is not None else None
        saved = self.store.load() if self.store is not None else {}
        active = saved.get(_ACTIVE, keyring.active_key_id)
        if active not in keyring.keys:  # the saved key is gone from the preloaded set: the default
            active = keyring.active_key_id
        last = {int(k[len(_LAST):]): v for k, v in saved.items() if k.startswith(_LAST)}
        self.core = CommsCore(table, TcVerifier(dict(keyring.keys), active, last),
                              first_file_seq=saved.get(_FILE_SEQ, 1))
        self._file_seq = self.core.files.sender.next_seq_num
        self.fw = AppFramework("comms", tables=TableService({"comms": table}), events=self.core.events,
                               handlers={int(Opcode.COMMS_ACTIVATE_KEY): self._cmd_activate_key})

    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[Out]:
        contact, uplink, from_apps = split_inbox(inbox)
        outs: list[Out] = []
        self._answers(self.fw.handle(tick, inbox), tick, t_ns, outs)
        for body, dst in self.core.step(tick, t_ns, contact, uplink, from_apps):
            if dst == "comms" and isinstance(body, (AppCommand, TableLoad)):  # uplinked, for us
                local = Message(Envelope(body.KIND, body.VERSION, "ground", 0, tick, t_ns), body)
                self._answers(self.fw.handle(tick, [local]), tick, t_ns, outs)
            else:
                outs.append(Out(body, dst))
        if self.core.seq_dirty or self.core.files.sender.next_seq_num != self._file_seq:
            self._persist()
        if self.fw.tables.active["comms"] is not self.core.table:  # a new table is active
            self.core.retable(self.fw.tables.active["comms"])
        if tick % HOUSEKEEPING_EVERY_TICKS == 0:
            outs.append(Out(self.fw.housekeeping()))
        for o in outs:  # comms' own events and housekeeping go down too
            if isinstance(o.body, (Event, AppHousekeeping)):
                self.core.respond_local(o.body, tick, t_ns)
        return outs

    def _answers(self, answers, tick: int, t_ns: int, outs: list[Out]) -> None:
        """Comms' own answers: those for the ground (responses to ground commands, table
        dumps) go down the link; responses to onboard senders (a stored sequence, the limit
        checker), pongs and events go on the bus like any app's."""
        for body, dst in answers:
            if isinstance(body, CommandResponse) and body.source == "ground":
                self.core.respond_local(body, tick, t_ns)
            elif isinstance(body, TableDump):
                self.core.respond_local(body, tick, t_ns)
            else:
                outs.append(Out(body, dst))

    def _cmd_activate_key(self, args: Mapping[str, Any], tick: int) -> str:
        key_id = arg_int(args, "key_id", 1, 65535)
        try:
            self.core.verifier.activate(key_id)
        except LinkError as exc:
            raise CommandError(CmdStatus.VALIDATION_ERROR, f"key_id: {exc}") from None
        self._persist()
        return f"telecommands authenticated with key {key_id} from now on"

    def _persist(self) -> None:
        """Durable before acted on: the anti-replay counters and the active key."""
        self.core.seq_dirty = False
        self._file_seq = self.core.files.sender.next_seq_num
        if self.store is None:
            return
        v = self.core.verifier
        self.store.save({_ACTIVE: v.active_key_id, _FILE_SEQ: self._file_seq,
                         **{f"{_LAST}{k}": n for k, n in v.last_seq.items()}})

    def statistics(self) -> Mapping[str, Any]:
        """An immutable snapshot: the link counters and the framework's."""
        s = self.core.status()
        return types.MappingProxyType({**dataclasses.asdict(s), "commands_routed": self.core.commands_routed,
                                       **self.fw.statistics()})

    def final_report(self) -> dict:
        return self.core.statistics()

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def make(start_tick: int, table: dict | None = None, keys: dict | None = None,
         store_dir: str | None = None) -> CommsApp:
    """``keys``: the keyring as its file holds it (flightsw.icd.linkauth), preloaded before launch."""
    if keys is None:
        raise ValueError("comms: keys: expected the preloaded telecommand keyring, got none")
    return CommsApp(CommsTable(**(table or {})), Keyring.from_dict(keys, "comms keys"),
                    Path(store_dir) if store_dir else None)
