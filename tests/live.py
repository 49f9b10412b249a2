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
    """Terminate the processes, newest first; kill any still running 30 s later."""
    import subprocess

    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
