"""Helpers for tests that run live processes on loopback: a free port, and waiting for a
condition with a deadline."""

from __future__ import annotations

import socket
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, predicate, timeout_s: float, every_s: float = 0.5):
    """Poll ``predicate`` until it returns something truthy (returned); AssertionError
    naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def stop_all(procs) -> None:
    """Stop the processes, newest first, with their process groups (a process started with
    ``start_new_session=True`` leads one: a sim's spawned flight processes go with it);
    kill what still runs 30 s later."""
    import os
    import signal
    import subprocess

    def signal_group(p, sig) -> None:
        try:
            if os.getpgid(p.pid) == p.pid:
                os.killpg(p.pid, sig)
                return
        except (ProcessLookupError, PermissionError):
            return
        p.send_signal(sig)

    for p in reversed(procs):
        if p.poll() is None:
            signal_group(p, signal.SIGTERM)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            signal_group(p, signal.SIGKILL)
        try:  # children the group leader left behind
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass
