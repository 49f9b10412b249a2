"""A small synchronous client of the ground API (httpx), used by the CLI.

Every failure becomes one :class:`ApiFailure` with a one-line message: the server's
``detail`` for an HTTP error, or why the server could not be reached. ``exit_code`` maps
it to the CLI's convention: 2 for a request the server refused as bad (4xx), 1 for a
server or network failure.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["DEFAULT_URL", "ApiClient", "ApiFailure"]

DEFAULT_URL = "http://127.0.0.1:8765"


class ApiFailure(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def exit_code(self) -> int:
        return 2 if self.status is not None and 400 <= self.status < 500 else 1


def _detail(resp: httpx.Response) -> str:
    """The server's explanation: our ``{"detail": "field: ..."}``, FastAPI's list form,
    or the start of whatever body came."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200] or resp.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        d = detail[0]
        loc = ".".join(str(x) for x in d.get("loc", [])[1:]) or "request"
        return f"{loc}: {d.get('msg', 'invalid')}"
    return str(body)[:200]


class ApiClient:
    def __init__(self, url: str, token: str | None, timeout_s: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            resp = self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise ApiFailure(f"cannot reach the ground API at {self.url}: {type(exc).__name__}: {exc}") from None
        if resp.status_code >= 400:
            raise ApiFailure(f"{resp.status_code} {resp.reason_phrase}: {_detail(resp)}", resp.status_code)
        return resp

    def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return self.request("GET", path, params=clean).json()

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body).json()

    def get_bytes(self, path: str) -> tuple[bytes, httpx.Headers]:
        resp = self.request("GET", path)
        return resp.content, resp.headers
