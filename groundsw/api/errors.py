"""API errors: one JSON shape, ``{"detail": "<field>: <expected, got>", "field": "<field>"}``.

Pydantic's own 422s (a query parameter of the wrong type) keep FastAPI's list form; every
error this package raises names its field in ``detail`` and in ``field``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from groundsw.commands import CommandError
from groundsw.jobspec import JobSpecError

__all__ = ["ApiError", "install_handlers"]


class ApiError(Exception):
    """An HTTP error answer naming the field at fault."""

    def __init__(self, status: int, field: str, message: str, headers: dict | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.status = status
        self.field = field
        self.message = message
        self.headers = headers


def _answer(status: int, field: str, text: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"detail": text, "field": field}, status_code=status, headers=headers)


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _answer(exc.status, exc.field, str(exc), exc.headers)

    @app.exception_handler(JobSpecError)
    async def _spec_error(request: Request, exc: JobSpecError) -> JSONResponse:
        return _answer(422, exc.field, str(exc))

    @app.exception_handler(CommandError)
    async def _command_error(request: Request, exc: CommandError) -> JSONResponse:
        return _answer(422, exc.field, str(exc))
