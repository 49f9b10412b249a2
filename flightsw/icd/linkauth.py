"""Telecommand authentication keys: the keyring, its file, and the MAC.

Every telecommand on the RF link carries an HMAC-SHA256 trailer under one of a few
pre-shared 32-byte secrets (DESIGN.md §7; the frame layout is in ``spacelink``). Both ends
hold the same keyring: numbered keys, one of them active. Rotation is a command
(``COMMS_ACTIVATE_KEY``) naming a key that is already loaded on board, so a secret never
crosses the link.

File format (JSON, UTF-8)::

    {"format": "sunsched-link-keys/1", "active": 1,
     "keys": {"1": "<64 hex digits>", "2": "<64 hex digits>", ...}}

The file lives outside the repository on purpose (``default_keyring_path``: the
``$SUNSCHED_LINK_KEYS`` variable, else ``~/.config/sunsched/link-keys.json``), and
``generate_keyring`` writes it readable by its owner only (0600, in directories it
creates 0700). Errors never quote a secret, only its position and length.

Everything here is pure except ``load_keyring`` and ``generate_keyring`` (files) and
``default_keyring_path`` (reads the environment).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

__all__ = [
    "FORMAT",
    "KEY_ENV",
    "MAC_BYTES",
    "MAX_KEY_ID",
    "SECRET_BYTES",
    "KeyringError",
    "Keyring",
    "LinkKey",
    "default_keyring_path",
    "generate_keyring",
    "load_keyring",
    "mac",
    "mac_matches",
]

FORMAT = "sunsched-link-keys/1"
KEY_ENV = "SUNSCHED_LINK_KEYS"
SECRET_BYTES = 32  # HMAC-SHA256 key [bytes]: the hash's block-size-safe, full-strength length
MAC_BYTES = 32  # full HMAC-SHA256 output [bytes]; never truncated
MAX_KEY_ID = 65535  # key ids travel as u16; 0 is reserved (never a valid key)


class KeyringError(ValueError):
    """A keyring (or its file) that cannot be used. ``str()`` names the file or origin,
    the field, what was expected and what came."""


def _check_key(key_id: object, secret: object, where: str) -> None:
    if type(key_id) is not int or not 1 <= key_id <= MAX_KEY_ID:
        raise KeyringError(f"{where}: key id: expected an integer in [1, {MAX_KEY_ID}], "
                           f"got {key_id!r:.40}")
    if type(secret) is not bytes or len(secret) != SECRET_BYTES:
        got = f"{len(secret)} bytes" if isinstance(secret, bytes | bytearray) else type(secret).__name__
        raise KeyringError(f"{where}: secret of key {key_id}: expected exactly {SECRET_BYTES} "
                           f"bytes, got {got}")


@dataclass(frozen=True, slots=True)
class LinkKey:
    """One pre-shared key: ``key_id`` in [1, 65535], ``secret`` exactly 32 bytes.
    The secret is left out of ``repr`` so that it never lands in a log."""

    key_id: int
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_key(self.key_id, self.secret, "LinkKey")


@dataclass(frozen=True, slots=True, init=False)
class Keyring:
    """Numbered secrets and which one is active. Immutable: ``keys`` is a read-only mapping
    key id -> secret. Raises :class:`KeyringError` if empty, if a key is malformed, or if
    ``active_key_id`` is not among the keys."""

    keys: Mapping[int, bytes] = field(repr=False)
    active_key_id: int

    def __init__(self, keys: Mapping[int, bytes], active_key_id: int) -> None:
        if not isinstance(keys, Mapping) or not keys:
            got = f"{len(keys)} keys" if isinstance(keys, Mapping) else type(keys).__name__
            raise KeyringError(f"Keyring: keys: expected a non-empty mapping of key id to "
                               f"secret, got {got}")
        for key_id, secret in keys.items():
            _check_key(key_id, secret, "Keyring")
        if type(active_key_id) is not int or active_key_id not in keys:
            raise KeyringError(f"Keyring: active_key_id: expected one of {sorted(keys)}, "
                               f"got {active_key_id!r:.40}")
        object.__setattr__(self, "keys", MappingProxyType(dict(sorted(keys.items()))))
        object.__setattr__(self, "active_key_id", active_key_id)

    def __hash__(self) -> int:
        return hash((tuple(self.keys.items()), self.active_key_id))

    def key(self, key_id: int) -> LinkKey:
        """The key ``key_id``; :class:`KeyringError` if it is not in the ring."""
        if key_id not in self.keys:
            raise KeyringError(f"Keyring: key id: expected one of {sorted(self.keys)}, "
                               f"got {key_id!r:.40}")
        return LinkKey(key_id, self.keys[key_id])

    @property
    def active(self) -> LinkKey:
        return LinkKey(self.active_key_id, self.keys[self.active_key_id])

    def with_active(self, key_id: int) -> Keyring:
        """The same keys with ``key_id`` active (after a rotation)."""
        return Keyring(self.keys, key_id)

    def to_dict(self) -> dict:
        """The JSON-ready form of the file format (secrets as lower-case hex)."""
        return {"format": FORMAT, "active": self.active_key_id,
                "keys": {str(k): v.hex() for k, v in self.keys.items()}}

    @classmethod
    def from_dict(cls, d: object, origin: str = "keyring") -> Keyring:
        """Parse the file format; ``origin`` (a file name) starts every error message."""
        if not isinstance(d, dict):
            raise KeyringError(f"{origin}: expected a JSON object, got {type(d).__name__}")
        extra = sorted(set(d) - {"format", "active", "keys"})
        if extra:
            raise KeyringError(f"{origin}: expected only the fields format, active, keys, "
                               f"got also {', '.join(map(repr, extra))}")
        if d.get("format") != FORMAT:
            raise KeyringError(f"{origin}: field 'format': expected {FORMAT!r}, "
                               f"got {d.get('format')!r:.60}")
        raw_keys = d.get("keys")
        if not isinstance(raw_keys, dict) or not raw_keys:
            raise KeyringError(f"{origin}: field 'keys': expected a non-empty object of "
                               f"key id -> {2 * SECRET_BYTES} hex digits, got {raw_keys!r:.40}")
        keys = {_key_id(name, origin): _secret(name, text, origin)
                for name, text in raw_keys.items()}
        active = d.get("active")
        if type(active) is not int or active not in keys:
            raise KeyringError(f"{origin}: field 'active': expected one of the key ids "
                               f"{sorted(keys)}, got {active!r:.40}")
        return cls(keys, active)


def _key_id(name: str, origin: str) -> int:
    if not (name.isascii() and name.isdecimal()) or str(int(name)) != name \
            or not 1 <= int(name) <= MAX_KEY_ID:
        raise KeyringError(f"{origin}: field 'keys': key id: expected a decimal integer in "
                           f"[1, {MAX_KEY_ID}] without leading zeros, got {name!r:.40}")
    return int(name)


def _secret(name: str, text: object, origin: str) -> bytes:
    where = f"{origin}: field 'keys.{name}'"
    if type(text) is not str:
        raise KeyringError(f"{where}: expected a string of {2 * SECRET_BYTES} hex digits, "
                           f"got {type(text).__name__}")
    if len(text) != 2 * SECRET_BYTES:
        raise KeyringError(f"{where}: expected {2 * SECRET_BYTES} hex digits "
                           f"({SECRET_BYTES} bytes), got {len(text)} characters")
    bad = next((i for i, c in enumerate(text) if c not in "0123456789abcdefABCDEF"), None)
    if bad is not None:
        raise KeyringError(f"{where}: expected hex digits only, got a non-hex character at "
                           f"position {bad}")
    return bytes.fromhex(text)


def load_keyring(path: str | os.PathLike) -> Keyring:
    """Read and validate a keyring file; :class:`KeyringError` naming the file if it is
    missing, unreadable, not JSON, or breaks the format."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyringError(f"{path}: expected a link keyring file, got no such file (create "
                           f"one with generate_keyring, or set ${KEY_ENV})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyringError(f"{path}: expected a readable UTF-8 file, got {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KeyringError(f"{path}: expected JSON, got a syntax error at line {exc.lineno} "
                           f"column {exc.colno}: {exc.msg}") from None
    return Keyring.from_dict(data, origin=str(path))


def _make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and any missing parents, each created one with mode 0700."""
    missing = []
    for d in (directory, *directory.parents):
        if d.exists():
            break
        missing.append(d)
    for d in reversed(missing):
        d.mkdir(mode=0o700)
        os.chmod(d, 0o700)  # mkdir's mode is masked by the umask; be exact


def generate_keyring(path: str | os.PathLike, n_keys: int = 4, overwrite: bool = False) -> Keyring:
    """Create ``n_keys`` fresh keys (ids 1..n_keys, key 1 active, secrets from
    ``os.urandom``) and write them to ``path`` with mode 0600. Refuses
    (:class:`KeyringError`) to replace an existing file unless ``overwrite``; a replacement
    is written to a temporary file first and renamed, so the old ring is never half-lost."""
    if type(n_keys) is not int or not 1 <= n_keys <= MAX_KEY_ID:
        raise KeyringError(f"generate_keyring: n_keys: expected an integer in [1, {MAX_KEY_ID}], "
                           f"got {n_keys!r:.40}")
    path = Path(path)
    ring = Keyring({i: os.urandom(SECRET_BYTES) for i in range(1, n_keys + 1)}, 1)
    text = (json.dumps(ring.to_dict(), indent=2) + "\n").encode("utf-8")
    _make_private_dirs(path.parent)
    target = path.with_name(f".{path.name}.{os.getpid()}.tmp") if overwrite else path
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyringError(f"{path}: expected no file here (keys are never replaced "
                           f"silently), got an existing file; pass overwrite=True") from None
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(target, path)
    except BaseException:
        if overwrite:
            target.unlink(missing_ok=True)
        raise
    return ring


def default_keyring_path() -> Path:
    """``$SUNSCHED_LINK_KEYS`` if set (``~`` expanded), else
    ``~/.config/sunsched/link-keys.json``: outside the repository, so keys never get
    committed."""
    env = os.environ.get(KEY_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".config" / "sunsched" / "link-keys.json"


def mac(secret: bytes, data: bytes) -> bytes:
    """HMAC-SHA256 of ``data`` under ``secret``: all 32 bytes."""
    return hmac.new(secret, data, hashlib.sha256).digest()


def mac_matches(secret: bytes, data: bytes, tag: bytes) -> bool:
    """Whether ``tag`` is the MAC of ``data``, compared in constant time."""
    return hmac.compare_digest(mac(secret, data), tag)
