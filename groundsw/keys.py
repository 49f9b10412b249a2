"""``python -m groundsw.keys init [--path FILE] [--keys N]``: make the telecommand keyring.

The keyring (flightsw.icd.linkauth) lives outside the repository: by default
``$SUNSCHED_LINK_KEYS`` or ``~/.config/sunsched/link-keys.json``, mode 0600. ``make install``
runs ``init`` once, which makes a development keyring when none exists and leaves an
existing one alone. In flight the same file is loaded into the spacecraft before launch
and kept by the ground; ``comms.COMMS_ACTIVATE_KEY`` switches between its keys.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flightsw.icd.linkauth import KeyringError, default_keyring_path, generate_keyring, load_keyring

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="groundsw keys", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("init", help="make a keyring unless one exists")
    i.add_argument("--path", default=None)
    i.add_argument("--keys", type=int, default=4, help="how many keys (key ids 1..N)")
    i.add_argument("--force", action="store_true", help="replace an existing keyring")
    s = sub.add_parser("show", help="key ids and the active one (never the secrets)")
    s.add_argument("--path", default=None)
    args = ap.parse_args(argv)
    path = Path(args.path) if args.path else default_keyring_path()
    try:
        if args.cmd == "init":
            if path.exists() and not args.force:
                ring = load_keyring(path)
                print(f"keyring {path}: exists, {len(ring.keys)} key(s), active {ring.active_key_id}")
                return 0
            ring = generate_keyring(path, n_keys=args.keys, overwrite=args.force)
            print(f"keyring {path}: made, {len(ring.keys)} key(s), active {ring.active_key_id}")
            return 0
        ring = load_keyring(path)
        print(f"keyring {path}: key ids {sorted(ring.keys)}, active {ring.active_key_id}")
        return 0
    except (KeyringError, ValueError) as exc:
        print(f"groundsw keys: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
