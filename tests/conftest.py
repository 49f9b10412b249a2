"""Test-wide setup: a telecommand keyring of the test session's own.

Runs (in-process and ``sim run`` subprocesses, which inherit the environment) read the
keyring from ``$SUNSCHED_LINK_KEYS``; tests never touch the developer's own keyring.
"""

from __future__ import annotations

import os

import pytest

from flightsw.icd.linkauth import generate_keyring


@pytest.fixture(scope="session", autouse=True)
def link_keyring(tmp_path_factory):
    path = tmp_path_factory.mktemp("keys") / "link-keys.json"
    ring = generate_keyring(path, n_keys=4)
    old = os.environ.get("SUNSCHED_LINK_KEYS")
    os.environ["SUNSCHED_LINK_KEYS"] = str(path)
    yield ring
    if old is None:
        os.environ.pop("SUNSCHED_LINK_KEYS", None)
    else:
        os.environ["SUNSCHED_LINK_KEYS"] = old
