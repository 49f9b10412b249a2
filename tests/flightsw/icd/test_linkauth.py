"""Link keys (flightsw/icd/linkauth.py): the keyring, its file and the MAC.

Properties: keys and rings reject malformed input with an error naming the origin, field,
expected and got, and never quote a secret; the file round-trips; generated files are
private (0600 in 0700 directories) and never silently replaced; the MAC is RFC 4231's
HMAC-SHA256.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from flightsw.icd.linkauth import (
    FORMAT,
    KEY_ENV,
    Keyring,
    KeyringError,
    LinkKey,
    default_keyring_path,
    generate_keyring,
    load_keyring,
    mac,
    mac_matches,
)

SECRET_A = bytes(range(32))
SECRET_B = bytes(range(100, 132))


def _ring_dict(**changes: object) -> dict:
    d = {"format": FORMAT, "active": 1, "keys": {"1": SECRET_A.hex(), "2": SECRET_B.hex()}}
    d.update(changes)
    return d


# ----------------------------------------------------------------------- LinkKey


def test_a_link_key_holds_an_id_and_a_32_byte_secret() -> None:
    key = LinkKey(7, SECRET_A)
    assert (key.key_id, key.secret) == (7, SECRET_A)


@pytest.mark.parametrize("key_id", [0, 65536, -1, True, 1.0, "1"])
def test_a_link_key_refuses_an_id_outside_1_to_65535(key_id: object) -> None:
    with pytest.raises(KeyringError, match=r"key id: expected an integer in \[1, 65535\]"):
        LinkKey(key_id, SECRET_A)  # type: ignore[arg-type]


@pytest.mark.parametrize("secret", [bytes(31), bytes(33), b"", bytearray(32), "x" * 32])
def test_a_link_key_refuses_a_secret_that_is_not_exactly_32_bytes(secret: object) -> None:
    with pytest.raises(KeyringError, match="expected exactly 32 bytes, got"):
        LinkKey(1, secret)  # type: ignore[arg-type]


def test_a_link_keys_repr_does_not_show_its_secret() -> None:
    text = repr(LinkKey(1, SECRET_A)) + repr(Keyring({1: SECRET_A}, 1))
    assert SECRET_A.hex() not in text and repr(SECRET_A) not in text, text


# ----------------------------------------------------------------------- Keyring


def test_a_keyring_round_trips_through_its_dict_form() -> None:
    ring = Keyring.from_dict(_ring_dict(active=2), origin="t")
    assert ring.active_key_id == 2
    assert dict(ring.keys) == {1: SECRET_A, 2: SECRET_B}
    assert ring.active == LinkKey(2, SECRET_B)
    assert ring.to_dict() == _ring_dict(active=2)
    assert Keyring.from_dict(json.loads(json.dumps(ring.to_dict()))) == ring


def test_a_keyring_cannot_be_changed_in_place() -> None:
    ring = Keyring({1: SECRET_A}, 1)
    with pytest.raises(TypeError):
        ring.keys[2] = SECRET_B  # type: ignore[index]
    with pytest.raises(AttributeError):
        ring.active_key_id = 2  # type: ignore[misc]
    assert ring.with_active(1) == ring and hash(ring.with_active(1)) == hash(ring)


def test_a_keyring_hands_out_keys_by_id_and_refuses_unknown_ids() -> None:
    ring = Keyring({1: SECRET_A, 2: SECRET_B}, 1)
    assert ring.key(2) == LinkKey(2, SECRET_B)
    with pytest.raises(KeyringError, match=r"key id: expected one of \[1, 2\], got 3"):
        ring.key(3)
    with pytest.raises(KeyringError, match=r"active_key_id: expected one of \[1, 2\], got 5"):
        ring.with_active(5)


@pytest.mark.parametrize(("changes", "pattern"), [
    ({"format": "sunsched-link-keys/2"}, r"field 'format': expected 'sunsched-link-keys/1', got"),
    ({"active": 3}, r"field 'active': expected one of the key ids \[1, 2\], got 3"),
    ({"active": "1"}, r"field 'active': expected one of the key ids \[1, 2\], got '1'"),
    ({"keys": {}}, r"field 'keys': expected a non-empty object"),
    ({"keys": ["00"]}, r"field 'keys': expected a non-empty object"),
    ({"keys": {"01": SECRET_A.hex()}}, r"key id: expected a decimal integer in \[1, 65535\]"),
    ({"keys": {"0": SECRET_A.hex()}, "active": 0}, r"key id: expected a decimal integer"),
    ({"keys": {"65536": SECRET_A.hex()}}, r"key id: expected a decimal integer"),
    ({"keys": {"one": SECRET_A.hex()}}, r"key id: expected a decimal integer"),
    ({"keys": {"1": SECRET_A.hex()[:-2]}}, r"field 'keys.1': expected 64 hex digits \(32 bytes\), "
                                           r"got 62 characters"),
    ({"keys": {"1": 12}}, r"field 'keys.1': expected a string of 64 hex digits, got int"),
    ({"keys": {"1": "g" + SECRET_A.hex()[1:]}}, r"field 'keys.1': expected hex digits only, "
                                               r"got a non-hex character at position 0"),
    ({"extra": 1}, r"expected only the fields format, active, keys, got also 'extra'"),
])
def test_a_bad_keyring_dict_is_refused_naming_origin_field_expected_and_got(
        changes: dict, pattern: str) -> None:
    with pytest.raises(KeyringError, match=pattern) as info:
        Keyring.from_dict(_ring_dict(**changes), origin="/etc/keys.json")
    text = str(info.value)
    assert text.startswith("/etc/keys.json: "), text
    assert SECRET_A.hex()[2:40] not in text, f"a secret leaked into the error: {text}"


def test_a_keyring_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(KeyringError, match="k.json: expected a JSON object, got list"):
        Keyring.from_dict([], origin="k.json")


# ----------------------------------------------------------------------- files


def test_a_generated_keyring_is_private_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "link-keys.json"
    ring = generate_keyring(path, n_keys=3)
    assert sorted(ring.keys) == [1, 2, 3] and ring.active_key_id == 1
    assert len(set(ring.keys.values())) == 3, "generated secrets repeat"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for d in (tmp_path / "a", tmp_path / "a" / "b"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, f"{d} is not 0700"
    assert load_keyring(path) == ring
    assert json.loads(path.read_text())["format"] == FORMAT


def test_generating_refuses_to_overwrite_unless_told(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = generate_keyring(path, n_keys=1)
    before = path.read_bytes()
    with pytest.raises(KeyringError, match="keys.json: expected no file here .* pass overwrite=True"):
        generate_keyring(path, n_keys=1)
    assert path.read_bytes() == before, "a refused generate changed the file"
    second = generate_keyring(path, n_keys=2, overwrite=True)
    assert second != first and load_keyring(path) == second
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.json"], "temporary file left"


@pytest.mark.parametrize("n_keys", [0, 65536, 2.0])
def test_generating_refuses_a_bad_key_count(tmp_path: Path, n_keys: object) -> None:
    with pytest.raises(KeyringError, match=r"n_keys: expected an integer in \[1, 65535\]"):
        generate_keyring(tmp_path / "k.json", n_keys=n_keys)  # type: ignore[arg-type]
    assert not (tmp_path / "k.json").exists()


def test_loading_a_missing_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "none.json"
    with pytest.raises(KeyringError, match=f"{path}: expected a link keyring file, got no such file"):
        load_keyring(path)


def test_loading_bad_json_names_the_file_and_position(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"format": \n oops}')
    with pytest.raises(KeyringError, match=f"{path}: expected JSON, got a syntax error at line 2"):
        load_keyring(path)


def test_loading_a_file_with_a_bad_field_names_the_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text(json.dumps(_ring_dict(active=9)))
    with pytest.raises(KeyringError, match=f"{path}: field 'active': expected one of"):
        load_keyring(path)


def test_loading_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(KeyringError, match="expected a readable UTF-8 file"):
        load_keyring(path)


def test_the_default_path_honours_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "x.json"))
    assert default_keyring_path() == tmp_path / "x.json"
    monkeypatch.delenv(KEY_ENV)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_keyring_path() == tmp_path / ".config" / "sunsched" / "link-keys.json"
    repo = Path(__file__).resolve().parents[3]
    assert repo not in default_keyring_path().parents, "keys must live outside the repo"


# --------------------------------------------------------------------------- MAC


def test_the_mac_is_hmac_sha256_as_rfc_4231_gives_it() -> None:
    # RFC 4231 test case 2
    tag = mac(b"Jefe", b"what do ya want for nothing?")
    assert tag.hex() == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    # RFC 4231 test case 1
    assert mac(b"\x0b" * 20, b"Hi There").hex() == (
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")


def test_a_mac_matches_only_its_own_data_and_key() -> None:
    tag = mac(SECRET_A, b"frame")
    assert mac_matches(SECRET_A, b"frame", tag)
    assert not mac_matches(SECRET_B, b"frame", tag)
    assert not mac_matches(SECRET_A, b"framE", tag)
    assert not mac_matches(SECRET_A, b"frame", tag[:-1])
