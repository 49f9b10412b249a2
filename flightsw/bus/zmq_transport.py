"""ZeroMQ transport: one OS process per participant, a ROUTER in the hub process.

Protocol: one msgpack frame per message, an array whose first item says what it is (the
hub's ROUTER adds and strips the identity frame in front):

==========  ===============================================================
from        frame
==========  ===============================================================
child       [HELLO, name, period_ticks, [subscribed kinds...]]
hub         [TICK, tick, t_ns, [message bytes...]]
child       [DONE, tick, [[seq, kind, dst, message bytes], ...]]
hub         [FINISH]
child       [REPORT, {final report}]
==========  ===============================================================

One frame, not a command frame and a payload frame: every frame is a send call through
ZeroMQ's I/O thread, and the hub sends one message to each participant every tick.

Rules kept (DESIGN.md §9): linger set on every socket; the context is created in the
child after spawn; ROUTER_MANDATORY so a send to a vanished peer raises instead of
dropping silently; ROUTER_HANDOVER so a restarted process takes its identity back; a
HELLO handshake instead of sleeps for the slow joiner.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import tempfile
import time
from pathlib import Path

import msgpack
import structlog
import zmq

from flightsw.bus.hub import Registration, Wire
from flightsw.bus.participant import Endpoint, ParticipantSpec, build

__all__ = ["ZmqTransport", "child_main"]

log = structlog.get_logger()

HELLO, TICK, DONE, FINISH, REPORT = "HELLO", "TICK", "DONE", "FINISH", "REPORT"
_SNDMORE = int(zmq.SNDMORE)  # a plain int: pyzmq's flag enums cost more than the send
LINGER_MS = 1000
POLL_MS = 100


def _pack(obj: object) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def _unpack(data: bytes) -> object:
    return msgpack.unpackb(data, raw=False)


def child_main(spec: ParticipantSpec, address: str, start_tick: int) -> None:
    """Entry point of a participant process (started with the spawn method)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the harness stops us with FINISH
    from flightsw.bus.logsetup import configure

    configure(proc=spec.name)
    endpoint = Endpoint(build(spec, start_tick), start_tick, spec.stalls)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, LINGER_MS)
    sock.setsockopt(zmq.IDENTITY, spec.name.encode())
    sock.connect(address)
    reg = endpoint.registration()
    sock.send(_pack([HELLO, reg.name, reg.period_ticks, sorted(reg.subscriptions)]))
    try:
        while True:
            msg = _unpack(sock.recv())
            if msg[0] == TICK:
                _, tick, t_ns, inbox = msg
                wires = endpoint.handle(tick, t_ns, inbox)
                out = [[w.seq, w.kind, w.dst, w.data] for w in wires]
                sock.send(_pack([DONE, tick, out]))
            elif msg[0] == FINISH:
                sock.send(_pack([REPORT, endpoint.final_report()]))
                break
    finally:
        endpoint.close()
        sock.close()
        ctx.term()


class ZmqTransport:
    """The hub side. ``answer_timeout_s`` is wall-clock: a participant that neither
    answers nor dies within it is declared hung, killed, and reported dead."""

    def __init__(self, answer_timeout_s: float = 60.0, start_timeout_s: float = 120.0) -> None:
        self._dir = tempfile.mkdtemp(prefix="sunsched-")
        self.address = f"ipc://{Path(self._dir) / 'hub.ipc'}"
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
        self.sock.bind(self.address)
        self.poller = zmq.Poller()
        self.poller.register(self.sock, zmq.POLLIN)
        self.procs: dict[str, multiprocessing.process.BaseProcess] = {}
        self.answer_timeout_s = answer_timeout_s
        self.start_timeout_s = start_timeout_s
        self._mp = multiprocessing.get_context("spawn")

    # ------------------------------------------------------------------ lifecycle
    def start_many(self, specs: list[ParticipantSpec], start_tick: int) -> list[Registration]:
        for spec in specs:
            proc = self._mp.Process(
                target=child_main, args=(spec, self.address, start_tick), name=spec.name,
                daemon=True,
            )
            proc.start()
            self.procs[spec.name] = proc
        waiting = {s.name for s in specs}
        regs: dict[str, Registration] = {}
        deadline = time.monotonic() + self.start_timeout_s
        while waiting:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no HELLO from {sorted(waiting)} in {self.start_timeout_s} s")
            if not self.poller.poll(POLL_MS):
                for name in list(waiting):
                    if not self.procs[name].is_alive():
                        raise RuntimeError(
                            f"{name} exited with code {self.procs[name].exitcode} before HELLO"
                        )
                continue
            name, msg = self._recv()
            if msg[0] != HELLO or name not in waiting:
                log.warning("zmq.unexpected_frame", proc=name, cmd=str(msg[0])[:16])
                continue
            _, pname, period, subs = msg
            regs[name] = Registration(pname, int(period), frozenset(subs))
            waiting.discard(name)
        return [regs[s.name] for s in specs]

    def _send(self, name: str, msg: list) -> None:
        """One frame to ``name`` (ROUTER: its identity frame first). ZMQError if it is gone."""
        self.sock.send(name.encode(), _SNDMORE)
        self.sock.send(_pack(msg))

    def _recv(self) -> tuple[str, list]:
        """The next message from any child -> (its name, the unpacked frame); a frame that
        is not one of ours comes back as [None]."""
        frames = self.sock.recv_multipart()
        name = frames[0].decode(errors="replace")
        try:
            msg = _unpack(frames[1]) if len(frames) == 2 else None
        except Exception:  # msgpack raises several types: not ours either way
            msg = None
        return name, msg if isinstance(msg, list) and msg else [None]

    def pids(self) -> dict[str, int]:
        """The OS process id of each live participant (for chaos tests that signal them)."""
        return {n: p.pid for n, p in list(self.procs.items()) if p.pid is not None and p.is_alive()}

    def kill(self, name: str) -> None:
        """A real SIGKILL: no cleanup runs in the child; its store keeps what it committed."""
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        if proc.is_alive() and proc.pid is not None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.join(timeout=10)

    # ------------------------------------------------------------------- the tick
    def exchange(
        self, tick: int, t_ns: int, batches: dict[str, list[bytes]]
    ) -> tuple[dict[str, list[Wire]], list[str]]:
        waiting = set()
        dead: list[str] = []
        for name in sorted(batches):
            try:
                self._send(name, [TICK, tick, t_ns, batches[name]])
                waiting.add(name)
            except zmq.ZMQError:  # ROUTER_MANDATORY: the peer is gone
                dead.append(name)
                self.kill(name)  # reap the process (it may be a zombie)
        replies: dict[str, list[Wire]] = {}
        started = time.monotonic()
        while waiting:
            if not self.poller.poll(POLL_MS):
                for name in sorted(waiting):
                    proc = self.procs.get(name)
                    hung = time.monotonic() - started > self.answer_timeout_s
                    if proc is None or not proc.is_alive() or hung:
                        log.error("zmq.participant_lost", proc=name, tick=tick, hung=hung)
                        waiting.discard(name)
                        dead.append(name)
                        self.kill(name)
                continue
            name, msg = self._recv()
            if msg[0] != DONE or name not in waiting:
                continue
            _, rtick, out = msg
            if rtick != tick:
                continue
            replies[name] = [Wire(name, seq, kind, dst, data) for seq, kind, dst, data in out]
            waiting.discard(name)
        return replies, sorted(dead)

    def finish(self) -> dict[str, dict]:
        reports: dict[str, dict] = {}
        waiting = set()
        for name in sorted(self.procs):
            try:
                self._send(name, [FINISH])
                waiting.add(name)
            except zmq.ZMQError:
                pass
        deadline = time.monotonic() + 60
        while waiting and time.monotonic() < deadline:
            if not self.poller.poll(POLL_MS):
                for name in list(waiting):
                    if not self.procs[name].is_alive():
                        waiting.discard(name)
                continue
            name, msg = self._recv()
            if msg[0] == REPORT and name in waiting:
                reports[name] = msg[1]
                waiting.discard(name)
        for proc in self.procs.values():
            proc.join(timeout=10)
        return reports

    def close(self) -> None:
        for name in list(self.procs):
            self.kill(name)
        self.sock.close()
        self.ctx.term()
        try:
            os.unlink(Path(self._dir) / "hub.ipc")
            os.rmdir(self._dir)
        except OSError:
            pass
