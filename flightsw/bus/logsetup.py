"""structlog set-up shared by every process: JSON lines on stderr unless on a terminal.

Level from ``SUNSCHED_LOG_LEVEL`` (default WARNING: a simulated day must not flood the
console; events that matter travel on the bus as Event messages and reach the event log).
"""

from __future__ import annotations

import logging
import os
import sys

import structlog

__all__ = ["configure"]


def configure(proc: str | None = None, level: str | None = None) -> None:
    level_name = (level or os.environ.get("SUNSCHED_LOG_LEVEL", "WARNING")).upper()
    renderer = (
        structlog.dev.ConsoleRenderer()
        if sys.stderr.isatty()
        else structlog.processors.JSONRenderer(sort_keys=True)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            getattr(logging, level_name, logging.WARNING)
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()
    if proc:
        structlog.contextvars.bind_contextvars(proc=proc)
