"""The ground API application: ``create_app(data_dir)``, served by uvicorn (``groundsw serve``).

``data_dir`` holds ``archive.sqlite`` (written by the station of a running or finished
``sim run``; created empty if absent) and ``users.json`` (``groundsw users add``). REST
routes live under ``/api/``, WebSocket streams under ``/api/ws/``, the OpenAPI document
at ``/openapi.json`` and its browsable form at ``/docs``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from groundsw.api import routes_alarms, routes_commands, routes_data, routes_jobs, streams
from groundsw.api.deps import ArchivePool
from groundsw.api.errors import install_handlers
from groundsw.users import UserStore

__all__ = ["ARCHIVE_FILE", "CONSOLE_STATIC", "OPENMCT_DIST", "create_app"]

ARCHIVE_FILE = "archive.sqlite"
CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console"
CONSOLE_STATIC = CONSOLE_DIR / "static"
OPENMCT_DIST = CONSOLE_DIR / "node_modules" / "openmct" / "dist"


def create_app(data_dir: Path | str, poll_s: float = streams.POLL_S) -> FastAPI:
    """The API over ``data_dir``/archive.sqlite with ``data_dir``/users.json.

    ``poll_s``: how often WebSocket streams look for new archive rows [s].
    """
    data = Path(data_dir)
    pool = ArchivePool(data / ARCHIVE_FILE)
    with pool.use():  # create or migrate the schema now, not on the first request
        pass

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        pool.close()

    app = FastAPI(title="sunsched ground API", version="1",
                  description="Jobs, commands, telemetry, events, passes and files of the ground "
                              "archive. Bearer tokens per user; roles viewer < operator < approver.",
                  lifespan=lifespan)
    app.state.pool = pool
    app.state.users = UserStore(data)
    app.state.poll_s = poll_s
    app.state.data_dir = data
    install_handlers(app)
    for module in (routes_jobs, routes_commands, routes_data, routes_alarms, streams):
        app.include_router(module.router, prefix="/api")
    mount_console(app)
    return app


def mount_console(app: FastAPI) -> None:
    """The operator console (``groundsw/console``): our page and plugin at ``/console/``,
    Open MCT's prebuilt bundle (``make install`` fetches it with npm) at
    ``/console/openmct/``, and ``/`` sends a browser there. Without the bundle the console
    page says how to get it; the API does not depend on it."""
    if OPENMCT_DIST.is_dir():
        app.mount("/console/openmct", StaticFiles(directory=OPENMCT_DIST), name="openmct")
    app.mount("/console", StaticFiles(directory=CONSOLE_STATIC, html=True), name="console")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/console/")
