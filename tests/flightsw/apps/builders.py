"""Builders for ICD message bodies the app-core tests feed in, and for the telecommands
the ground puts on the uplink (plain data, no I/O)."""

from __future__ import annotations

from spacepackets.ecss import PusTc

from flightsw.icd.linkauth import MAC_BYTES, Keyring, mac
from flightsw.icd.messages import (
    BoardSensors,
    Envelope,
    JobSpec,
    Message,
    Mode,
    PowerBudget,
    ThermalCaps,
)
from flightsw.icd.spacelink import APIDS, TcSigner, TcVerifier, encode_tc

__all__ = ["job_spec", "budget", "thermal_caps", "board_sensors", "frame", "signed_packet",
           "signer", "verifier", "request_id", "LINK_KEYS", "S"]

S = 1_000_000_000  # [ns] one second

# The telecommand keys of these tests: fixed secrets (a test must be replayable bit for bit),
# four keys as generate_keyring makes, key 1 active.
LINK_KEYS = Keyring({k: bytes((k * 37 + i) % 256 for i in range(32)) for k in range(1, 5)}, 1)


def job_spec(job_id: str = "j1", **overrides) -> JobSpec:
    """A valid synthetic JobSpec: 1 board, 2 GPU-s of work, 64 output bytes, no deadline."""
    fields = dict(
        job_id=job_id,
        kind="synthetic",
        priority=0,
        deadline_t_ns=-1,
        boards_needed=1,
        work_gpu_s=2.0,
        checkpoint_interval_s=0.0,
        input_bytes=0,
        output_bytes=64,
        release_t_ns=0,
        seed=7,
        params={},
    )
    fields.update(overrides)
    return JobSpec(**fields)


def budget(compute_w: float, mode: str = Mode.NOMINAL.value) -> PowerBudget:
    return PowerBudget(mode=mode, compute_budget_w=compute_w, solar_power_w=compute_w,
                       battery_avail_w=0.0, battery_soc=0.8)


def thermal_caps(cap_w: tuple[float, ...]) -> ThermalCaps:
    return ThermalCaps(cap_w=tuple(cap_w), shutdown=tuple(int(c == 0.0) for c in cap_w))


def board_sensors(n_boards: int, work: dict[int, tuple[str, float]] | None = None,
                  temp_c: float = 40.0) -> BoardSensors:
    """Readings for ``n_boards``; ``work`` maps board -> (job id it worked on, GPU-s done)."""
    work = work or {}
    return BoardSensors(
        temp_c=(temp_c,) * n_boards,
        power_w=tuple(50.0 if b in work else 0.0 for b in range(n_boards)),
        work_gpu_s=tuple(work[b][1] if b in work else 0.0 for b in range(n_boards)),
        job_id=tuple(work[b][0] if b in work else "" for b in range(n_boards)),
        radiator_temp_c=10.0,
    )


def signer(key_id: int = 1, next_seq: int = 1) -> TcSigner:
    """The ground's signing state for ``key_id`` of :data:`LINK_KEYS`."""
    return TcSigner(LINK_KEYS.key(key_id), next_seq)


def verifier(active_key_id: int = 1) -> TcVerifier:
    """The satellite's telecommand gate holding every key of :data:`LINK_KEYS`."""
    return TcVerifier(dict(LINK_KEYS.keys), active_key_id)


def frame(body, tc_signer: TcSigner, seq_count: int = 0, src: str = "ground") -> bytes:
    """``body`` as the ground puts it on the uplink: one authenticated PUS-C telecommand on
    its app's APID (``body`` an AppCommand, JobSpec or TableLoad; bytes: a CFDP PDU for
    comms). Takes one anti-replay number of ``tc_signer``."""
    if isinstance(body, bytes):
        return encode_tc(body, apid=APIDS["comms"], seq_count=seq_count, signer=tc_signer)
    target = "executor" if isinstance(body, JobSpec) else body.target
    msg = Message(Envelope(body.KIND, body.VERSION, src, 1, 0, 0, "sat"), body)
    return encode_tc(msg, apid=APIDS[target], seq_count=seq_count, signer=tc_signer)


def signed_packet(apid: int, service: int, subtype: int, payload: bytes, key_id: int = 1,
                  auth_seq: int = 1, secret: bytes | None = None) -> bytes:
    """A telecommand built by hand, the layout of flightsw.icd.spacelink written out again
    (key id u16, anti-replay number u32, payload, HMAC-SHA256 over the packet up to the MAC,
    CRC-16), correctly signed whatever it carries: for frames ``encode_tc`` refuses to make
    (a body on another app's APID, a message of the wrong type). ``secret`` defaults to the
    key's in :data:`LINK_KEYS` (pass another to forge)."""
    secret = LINK_KEYS.keys[key_id] if secret is None else secret
    head = key_id.to_bytes(2, "big") + auth_seq.to_bytes(4, "big") + payload
    tc = PusTc(service=service, message_subtype=subtype, apid=apid, seq_count=0,
               app_data=head + bytes(MAC_BYTES))
    draft = bytes(tc.pack())
    tc.app_data = head + mac(secret, draft[: -(MAC_BYTES + 2)])
    return bytes(tc.pack())


def request_id(tc: bytes) -> int:
    """The PUS request id of a telecommand (packet id and sequence control: its first four
    bytes), which the PUS 1 reports answering it carry."""
    return int.from_bytes(tc[:4], "big")
