"""Ground users, their roles and their API tokens (``DIR/users.json``).

File format::

    {"users": {"alice": {"role": "operator", "token_sha256": "<64 hex>"}}}

Tokens are random (``secrets.token_urlsafe(32)``: 256 bits, never starting with "-", which
a command line would take for an option: ``--token -x...`` failed 1 time in 64), shown once when a user is
added, and stored only as their SHA-256: a leaked users.json does not let anyone in. A
hash without a salt is enough here because the tokens are random, not chosen passwords.
Lookups compare digests with :func:`hmac.compare_digest` (constant time) against every
user, so the time taken does not say which user, or how much of a digest, matched.

Roles are ranked: a viewer reads (REST and WebSocket); an operator also submits and
cancels jobs and sends non-critical commands; an approver also approves critical
commands sent by someone else (the two-person rule, after OpenC3 COSMOS).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ROLES",
    "ROLE_RANK",
    "User",
    "UserError",
    "UserStore",
    "add_user",
    "has_role",
    "load_users",
    "token_digest",
]

USERS_FILE = "users.json"
ROLES = ("viewer", "operator", "approver")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,32}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class UserError(ValueError):
    """A bad user name, role or users file; the message names what was expected and got."""


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str


def has_role(user: User, role: str) -> bool:
    """Whether ``user`` may do what ``role`` may (roles are ranked viewer < operator < approver)."""
    return ROLE_RANK[user.role] >= ROLE_RANK[role]


def token_digest(token: str) -> str:
    """Hex SHA-256 of a token's UTF-8 bytes: what users.json keeps."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UserError(f"name: expected 1..32 characters of A-Z a-z 0-9 _ . -, got {name!r}")
    return name


def _check_role(role: str) -> str:
    if role not in ROLE_RANK:
        raise UserError(f"role: expected one of {list(ROLES)}, got {role!r}")
    return role


def load_users(path: Path) -> dict[str, dict]:
    """Parse users.json into {name: {"role", "token_sha256"}}; {} if the file is absent.

    Raises UserError naming the entry and field that is wrong.
    """
    if not path.exists():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: expected a JSON users file, got: {exc}") from None
    users = doc.get("users") if isinstance(doc, dict) else None
    if not isinstance(users, dict):
        raise UserError(f'{path}: expected {{"users": {{name: {{role, token_sha256}}}}}}')
    out = {}
    for name, entry in users.items():
        try:
            _check_name(name)
            if not isinstance(entry, dict):
                raise UserError(f"expected an object, got {type(entry).__name__}")
            _check_role(entry.get("role"))
            digest = entry.get("token_sha256")
            if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
                raise UserError(f"token_sha256: expected 64 lowercase hex digits, got {digest!r}")
        except UserError as exc:
            raise UserError(f"{path}: users.{name}: {exc}") from None
        out[name] = {"role": entry["role"], "token_sha256": digest}
    return out


def _write_users(path: Path, users: dict[str, dict]) -> None:
    """Write atomically (a reader never sees half a file), readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"users": users}, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def add_user(data_dir: Path | str, name: str, role: str, replace: bool = False) -> str:
    """Add ``name`` with ``role`` to ``data_dir``/users.json and return its new token.

    The token is returned once and never stored. An existing user is refused unless
    ``replace`` (which gives them a new token and role: the old token stops working).
    """
    _check_name(name)
    _check_role(role)
    path = Path(data_dir) / USERS_FILE
    users = load_users(path)
    if name in users and not replace:
        raise UserError(f"name: user {name!r} already exists (use --replace to issue a new token)")
    token = new_token()
    users[name] = {"role": role, "token_sha256": token_digest(token)}
    _write_users(path, users)
    return token


def new_token() -> str:
    """A fresh random token that does not start with "-" (``--token TOKEN`` must parse)."""
    while (token := secrets.token_urlsafe(32)).startswith("-"):
        pass
    return token


class UserStore:
    """The users of one data folder, reloaded when users.json changes (so users added
    while the server runs can log in at once). Thread-safe."""

    def __init__(self, data_dir: Path | str) -> None:
        self.path = Path(data_dir) / USERS_FILE
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._users: dict[str, dict] = {}

    def _refresh(self) -> dict[str, dict]:
        try:
            st = self.path.stat()
            # the inode too: add_user replaces the file, so it changes even when the
            # clock's tick is coarser than two writes and the size stays the same
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp != self._stamp:
                self._users = load_users(self.path) if stamp else {}
                self._stamp = stamp
            return self._users

    def authenticate(self, token: str | None) -> User | None:
        """The user holding ``token``, or None. Every user's digest is compared."""
        if not token:
            return None
        digest = token_digest(token)
        found = None
        for name, entry in self._refresh().items():
            if hmac.compare_digest(entry["token_sha256"], digest):
                found = User(name, entry["role"])
        return found

    def names(self) -> dict[str, str]:
        """{name: role} of every user."""
        return {n: e["role"] for n, e in sorted(self._refresh().items())}
