"""What every route needs: an archive connection, the caller (by bearer token), a JSON body.

The server keeps a small pool of archive connections (one per worker thread at most):
sqlite connections are cheap but not free, and each is used by one thread at a time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from groundsw.api.errors import ApiError
from groundsw.api.times import Clock
from groundsw.archive import Archive
from groundsw.users import User, UserStore, has_role

__all__ = ["Approver", "ArchiveDep", "ArchivePool", "Operator", "Viewer", "archive_dep", "authenticate",
           "clock_of", "read_json", "require"]

MAX_BODY_BYTES = 1024 * 1024  # a job spec or a command is a few hundred bytes

bearer = HTTPBearer(auto_error=False, description="a user's token (`groundsw users add NAME --role R`)")


class ArchivePool:
    """Archive connections shared by the server's threads, one user at a time each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._free: list[Archive] = []
        self._all: list[Archive] = []
        self._closed = False

    @contextmanager
    def use(self) -> Iterator[Archive]:
        with self._lock:
            if self._closed:
                raise RuntimeError("archive pool closed")
            arch = self._free.pop() if self._free else None
        if arch is None:
            arch = Archive(self.path, check_same_thread=False)
            with self._lock:
                self._all.append(arch)
        try:
            yield arch
        finally:
            with self._lock:
                self._free.append(arch)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for arch in self._all:
                arch.close()
            self._all.clear()
            self._free.clear()


def archive_dep(request: Request) -> Iterator[Archive]:
    with request.app.state.pool.use() as arch:
        yield arch


def clock_of(arch: Archive) -> Clock:
    return Clock(arch.meta())


def authenticate(users: UserStore, token: str | None, role: str) -> User:
    """The caller with at least ``role``: 401 for no or a bad token, 403 for too low a role."""
    user = users.authenticate(token)
    if user is None:
        what = "none" if not token else "an unknown token"
        raise ApiError(401, "token", f"expected a valid bearer token (Authorization: Bearer T), got {what}",
                       headers={"WWW-Authenticate": "Bearer"})
    if not has_role(user, role):
        raise ApiError(403, "role", f"expected role {role} or above, got {user.name!r} with role {user.role}")
    return user


def require(role: str) -> Callable[..., User]:
    """A dependency: the authenticated caller, who must hold ``role`` (or a higher one)."""

    def dep(request: Request, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> User:
        return authenticate(request.app.state.users, cred.credentials if cred else None, role)

    return dep


# Route parameters: the caller with a role, and an archive connection (asked for after
# the caller, so an anonymous request never takes a connection).
Viewer = Annotated[User, Depends(require("viewer"))]
Operator = Annotated[User, Depends(require("operator"))]
Approver = Annotated[User, Depends(require("approver"))]
ArchiveDep = Annotated[Archive, Depends(archive_dep)]


def _no_constant(name: str) -> Any:
    raise ValueError(f"expected finite numbers, got {name}")


async def read_json(request: Request) -> Any:
    """The request body as JSON (read here, after authentication, so an anonymous caller
    learns nothing about what a body should be). 413 above MAX_BODY_BYTES; 422 for
    anything that is not JSON (NaN and Infinity included)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, "body", f"expected at most {MAX_BODY_BYTES} bytes, got more")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(422, "body", f"expected a JSON document, got {exc}") from None
    except RecursionError:
        raise ApiError(422, "body", "expected a JSON document, got one nested too deep") from None
