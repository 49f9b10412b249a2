"""The RF link's packet layer: the link ICD as code.

Every frame crossing the RF link is ONE CCSDS space packet (CCSDS 133.0-B-2) with a PUS-C
secondary header (ECSS-E-ST-70-41C), built and parsed with ``spacepackets``, closed by a
CRC-16/IBM-3740 ("CCITT-FALSE") over the whole packet. Its user data carries one ICD
message (``codec.encode``: envelope + body, validated whole by ``codec.decode``) or one raw
CFDP PDU. One APID per onboard app (:data:`APIDS`); packets are unsegmented.

Telecommands (ground -> satellite), service/subtype, payload, APID::

    8/1     AppCommand      ICD message    the command's target app
    200/1   JobSpec         ICD message    executor
    201/1   TableLoad       ICD message    the table's target app
    210/1   CFDP PDU        PDU bytes      comms (file delivery)

(A PDU's fixed header is checked for framing only: version and lengths, ``pdu_problem``.)

Telecommand security, in the spirit of CCSDS SDLS (355.0-B) authentication: the TC
application data is a security header, the payload, and a MAC trailer::

    | primary hdr 6 | PUS-C TC sec hdr 5 | key id u16 | anti-replay seq u32 | payload |
    | MAC 32 | CRC-16 2 |

MAC = HMAC-SHA256 (full 32 bytes, ``linkauth.mac``) under the key ``key id``, over the
packet from the first byte of the primary header through the end of the payload (its
length field already counts the trailer), so the APID, sequence count, service, key id and
anti-replay number are all covered. The CRC-16 follows the MAC: bit errors are rejected
cheaply, before any HMAC. Anti-replay numbers are per key, start at 1 and must strictly
increase (gaps allowed: a lost frame does not block the next one). :class:`TcVerifier`
checks, cheapest first, and rejects with one :class:`LinkError` whose ``reason`` is one of
:data:`REJECT_REASONS`: size (oversize), form and length field (length), CRC (crc), CCSDS
and PUS headers and APID (header), service/subtype (service), key id is the active one
(auth_key), MAC (auth_mac), anti-replay number (replay), then the payload: the ICD message
decodes, is the type the service carries and is addressed to the APID's app (body). The
anti-replay number advances once the MAC holds, before the payload check, so an
authenticated frame with a bad payload cannot be replayed either.

Telemetry (satellite -> ground), service/subtype, source data::

    1/1     JobAck accepted; JobState ACCEPTED; bare acceptance (no message)
    1/2     JobAck refused; CommandResponse at acceptance by comms (``subtype=2``; a
            CommandResponse may take any PUS 1 stage of its outcome: odd OK, even not)
    1/3     JobState STARTED
    1/5     JobState PROGRESS or PREEMPTED
    1/7     CommandResponse OK; JobState COMPLETED or DOWNLINKED
    1/8     CommandResponse not OK; JobState FAILED, EXPIRED, CANCELLED or REJECTED
            PUS 1 source data: request id u32 (packet id u16 + packet sequence control u16
            of the TC answered, 0 when unknown) + ICD message (none for a bare 1/1)
    3/25    telemetry-category bodies (PowerBudget, ThermalCaps, ExecutorStatus, ...;
            not CommandResponse or TableDump, which have their own):
            structure id u16 (the body KIND) + ICD message
    5/1-4   Event by severity: 1 informative (COMMAND, ACTIVITY_HI, ACTIVITY_LO,
            DIAGNOSTIC), 2 low (WARNING_LO), 3 medium (WARNING_HI), 4 high (FATAL);
            event id u16 (CRC-16/IBM-3740 of the event name: stable) + ICD message
    201/2   TableDump: ICD message
    210/1   CFDP PDU: PDU bytes

The TM secondary header carries a CDS short timestamp (7 bytes: p-field 0x40, days since
1958-01-01 u16, ms of day u32) of ``epoch_utc + t_ns``, UTC with leap seconds ignored (as
``spacepackets`` does). Source sequence counts are 14-bit, per APID (:class:`SeqCounters`
on the sending side, :class:`GapDetector` on the receiving side). TM carries no MAC.

Sizes: a TC is at most :data:`MAX_TC_BYTES` (8 KiB, all included), a TM at most
:data:`MAX_TM_BYTES`; bigger payloads (large tables, results) travel as files (CFDP).
Anything that is not ``bytes`` is refused with reason ``length``.

Pure: no sockets, files, clocks or randomness; time comes in as ``t_ns``.
"""

from __future__ import annotations

import binascii
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from spacepackets.ccsds.spacepacket import PacketId, PacketType, SequenceFlags
from spacepackets.ccsds.time import CdsShortTimestamp
from spacepackets.ecss import PusTc, PusTm

from flightsw.icd.codec import DecodeError, decode, encode
from flightsw.icd.linkauth import MAC_BYTES, MAX_KEY_ID, LinkKey, mac, mac_matches
from flightsw.icd.messages import (
    BODY_TYPES,
    AppCommand,
    Category,
    CommandResponse,
    Event,
    JobAck,
    JobSpec,
    JobState,
    Message,
    TableDump,
    TableLoad,
    category_of,
)

__all__ = [
    "APIDS", "APP_OF_APID", "MAX_TC_BYTES", "MAX_TM_BYTES", "MIN_TC_BYTES", "MIN_TM_BYTES",
    "SEQ_MODULO", "MAX_AUTH_SEQ", "REJECT_REASONS", "TC_SERVICES", "TM_SERVICES",
    "TC_APP_COMMAND", "TC_JOB_SPEC", "TC_TABLE_LOAD", "TC_CFDP_PDU", "TM_HOUSEKEEPING",
    "TM_TABLE_DUMP", "TM_CFDP_PDU", "LinkError", "Telecommand", "Telemetry", "TcSigner",
    "TcVerifier", "VerifierStatistics", "SeqCounters", "GapDetector", "tc_service_of",
    "tm_service_of", "encode_tc", "encode_tm", "decode_tm", "event_id", "pdu_problem",
    "epoch_ns", "cds_from_t_ns", "t_ns_from_cds", "packet_ids", "tc_packet_ids",
]

APIDS: dict[str, int] = {"hub": 0x100, "power": 0x101, "thermal": 0x102, "executor": 0x103,
                         "comms": 0x104, "supervisor": 0x105}
APP_OF_APID: dict[int, str] = {apid: app for app, apid in APIDS.items()}

MAX_TC_BYTES = 8192  # whole TC packet, auth trailer and CRC included [bytes]
MAX_TM_BYTES = 65536  # whole TM packet [bytes]
SEQ_MODULO = 16384  # CCSDS source sequence counts are 14 bits
MAX_AUTH_SEQ = 2**32 - 1  # anti-replay numbers are u32; 0 is never valid

REJECT_REASONS = ("oversize", "length", "header", "crc", "service", "auth_key", "auth_mac",
                  "replay", "body")

TC_APP_COMMAND = (8, 1)
TC_JOB_SPEC = (200, 1)
TC_TABLE_LOAD = (201, 1)
TC_CFDP_PDU = (210, 1)
TC_SERVICES: dict[tuple[int, int], type | None] = {  # (service, subtype) -> body (None: PDU)
    TC_APP_COMMAND: AppCommand, TC_JOB_SPEC: JobSpec, TC_TABLE_LOAD: TableLoad, TC_CFDP_PDU: None,
}
TM_HOUSEKEEPING = (3, 25)
TM_TABLE_DUMP = (201, 2)
TM_CFDP_PDU = (210, 1)
TM_SERVICES = frozenset({*((1, s) for s in range(1, 9)), TM_HOUSEKEEPING,
                         *((5, s) for s in range(1, 5)), TM_TABLE_DUMP, TM_CFDP_PDU})

_PRIMARY = 6  # CCSDS primary header [bytes]
_TC_SEC = 5  # PUS-C TC secondary header [bytes]
_TM_SEC = 14  # PUS-C TM secondary header with its 7-byte CDS short stamp [bytes]
_STAMP = 7
_SEC_HDR = 6  # key id u16 + anti-replay seq u32 [bytes]
_CRC = 2
_TRAILER = MAC_BYTES + _CRC
MIN_TC_BYTES = _PRIMARY + _TC_SEC + _SEC_HDR + _TRAILER
MIN_TM_BYTES = _PRIMARY + _TM_SEC + _CRC
_MS_PER_DAY = 86_400_000
_NS_PER_MS = 1_000_000
_CCSDS_EPOCH = datetime(1958, 1, 1, tzinfo=UTC)

_JOB_STATE_SUBTYPE = {"ACCEPTED": 1, "STARTED": 3, "PROGRESS": 5, "PREEMPTED": 5,
                      "COMPLETED": 7, "DOWNLINKED": 7, "FAILED": 8, "EXPIRED": 8,
                      "CANCELLED": 8, "REJECTED": 8}
_EVENT_SUBTYPE = {0: 4, 1: 3, 2: 2, 3: 1, 4: 1, 5: 1, 6: 1}  # Severity -> PUS 5 subtype


class LinkError(DecodeError):
    """A link frame refused; ``reason`` is one of :data:`REJECT_REASONS` and ``str()``
    says what was expected and what came."""

    def __init__(self, reason: str, text: str) -> None:
        if reason not in REJECT_REASONS:
            raise ValueError(f"LinkError reason: expected one of {REJECT_REASONS}, got {reason!r}")
        super().__init__(f"{reason}: {text}")
        self.reason = reason

    def __reduce__(self):  # keep it picklable despite the two-argument constructor
        return (type(self), (self.reason, str(self).split(": ", 1)[1]))


@dataclass(frozen=True, slots=True)
class Telecommand:
    """An accepted telecommand. ``request_id``: packet id << 16 | packet sequence control
    (what PUS 1 reports echo); exactly one of ``message`` (ICD services) and ``pdu``."""

    apid: int
    service: int
    subtype: int
    seq_count: int
    key_id: int
    auth_seq: int
    request_id: int
    message: Message | None
    pdu: bytes | None

    @property
    def app(self) -> str:
        return APP_OF_APID[self.apid]


@dataclass(frozen=True, slots=True)
class Telemetry:
    """A decoded telemetry packet; ``t_ns`` [ns since the scenario epoch, ms resolution];
    ``request_id`` 0 outside PUS 1; ``message`` None only for a bare 1/1 and for PDUs."""

    apid: int
    service: int
    subtype: int
    seq_count: int
    t_ns: int
    request_id: int
    message: Message | None
    pdu: bytes | None

    @property
    def app(self) -> str:
        return APP_OF_APID[self.apid]


# ------------------------------------------------------------------------ mappings


def _icd_body(body: object) -> bool:
    return BODY_TYPES.get(getattr(type(body), "KIND", None)) is type(body)


def tc_service_of(body: object) -> tuple[int, int]:
    """(service, subtype) a telecommand body travels as; bytes are a CFDP PDU.
    ValueError naming the type if it has no TC mapping."""
    if type(body) is bytes:
        return TC_CFDP_PDU
    for key, cls in TC_SERVICES.items():
        if cls is not None and type(body) is cls:
            return key
    raise ValueError(f"telecommand body: expected AppCommand, JobSpec, TableLoad or CFDP PDU "
                     f"bytes, got {type(body).__name__} (no TC mapping)")


def tm_service_of(body: object) -> tuple[int, int]:
    """(service, subtype) a telemetry body travels as (the table in the module docstring);
    bytes are a CFDP PDU. ValueError naming the type if it has no TM mapping."""
    if type(body) is bytes:
        return TM_CFDP_PDU
    if type(body) is JobAck:
        return (1, 1) if body.accepted else (1, 2)
    if type(body) is JobState and body.state in _JOB_STATE_SUBTYPE:
        return 1, _JOB_STATE_SUBTYPE[body.state]
    if type(body) is CommandResponse:
        return (1, 7) if body.status == "OK" else (1, 8)
    if type(body) is Event and body.severity in _EVENT_SUBTYPE:
        return 5, _EVENT_SUBTYPE[body.severity]
    if type(body) is TableDump:
        return TM_TABLE_DUMP
    if _icd_body(body) and category_of(body.KIND) is Category.TELEMETRY:
        return TM_HOUSEKEEPING
    raise ValueError(f"telemetry body: expected a body with a TM mapping (JobAck, JobState, "
                     f"CommandResponse, Event, TableDump, a telemetry-category body or PDU "
                     f"bytes), got {type(body).__name__}")


def _tc_target(body: object) -> str:
    """The app a TC body is for: its APID must be that app's."""
    if type(body) is JobSpec:
        return "executor"
    if type(body) is bytes:
        return "comms"
    return body.target


def event_id(name: str) -> int:
    """The stable u16 id of an event name: CRC-16/IBM-3740 of its UTF-8 bytes."""
    return binascii.crc_hqx(name.encode("utf-8"), 0xFFFF)


# -------------------------------------------------------------------------- time


def epoch_ns(epoch_utc: datetime | str) -> int:
    """``epoch_utc`` in ns since 1958-01-01T00:00Z (leap seconds ignored), exactly.

    ``epoch_utc``: a datetime with a time zone, or ISO 8601 text with one
    (``"2026-12-01T00:00:00Z"``), so that pure cores need not import datetime.
    ValueError naming ``epoch_utc`` otherwise."""
    if not isinstance(epoch_utc, datetime | str):
        raise ValueError(f"epoch_utc: expected a datetime or ISO 8601 text with a time zone, "
                         f"got {type(epoch_utc).__name__}")
    return _epoch_ns(epoch_utc)


@lru_cache(maxsize=32)
def _epoch_ns(epoch_utc: datetime | str) -> int:
    when = epoch_utc
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when)
        except ValueError:
            when = None
    if when is None or when.utcoffset() is None:
        raise ValueError(f"epoch_utc: expected a datetime or ISO 8601 text with a time zone "
                         f"(such as '2026-12-01T00:00:00Z'), got {epoch_utc!r:.60}")
    d = when - _CCSDS_EPOCH
    return ((d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds) * 1_000


def cds_from_t_ns(t_ns: int, epoch_utc: datetime | str) -> CdsShortTimestamp:
    """CDS short time of ``epoch_utc + t_ns``, floored to the ms. ValueError if it falls
    outside the 16-bit day count (1958-01-01 .. 2137-06-06)."""
    if type(t_ns) is not int:
        raise ValueError(f"t_ns: expected an integer [ns], got {type(t_ns).__name__}")
    ms = (epoch_ns(epoch_utc) + t_ns) // _NS_PER_MS
    days, ms_of_day = divmod(ms, _MS_PER_DAY)
    if not 0 <= days <= 0xFFFF:
        when = _CCSDS_EPOCH + timedelta(milliseconds=ms) if -10**14 < ms < 10**14 else "?"
        raise ValueError(f"t_ns: expected a time in 1958-01-01 .. 2137-06-06 for a CDS short "
                         f"stamp, got {t_ns} ns after {epoch_utc} ({when})")
    return CdsShortTimestamp(days, ms_of_day, init_dt_unix_stamp=False)


def t_ns_from_cds(days: int, ms_of_day: int, epoch_utc: datetime | str) -> int:
    """ns since ``epoch_utc`` of a CDS short (days, ms of day); negative before it."""
    return (days * _MS_PER_DAY + ms_of_day) * _NS_PER_MS - epoch_ns(epoch_utc)


# ----------------------------------------------------------------------- framing


def _seq(seq_count: object) -> int:
    if type(seq_count) is not int or seq_count < 0:
        raise ValueError(f"seq_count: expected a non-negative integer, got {seq_count!r:.40}")
    return seq_count % SEQ_MODULO


def _apid(apid: object) -> int:
    if apid not in APP_OF_APID or type(apid) is not int:
        raise ValueError(f"apid: expected one of {', '.join(f'{a:#x}' for a in APP_OF_APID)}, "
                         f"got {apid!r:.40}")
    return apid


def _frame(raw: object, max_bytes: int, min_bytes: int, what: str) -> bytes:
    """Size, length field and CRC checks shared by TC and TM, before any parsing."""
    if type(raw) is not bytes:
        raise LinkError("length", f"{what}: expected bytes, got {type(raw).__name__}")
    if len(raw) > max_bytes:
        raise LinkError("oversize", f"{what}: expected at most {max_bytes} bytes, got {len(raw)}")
    if len(raw) < min_bytes:
        raise LinkError("length", f"{what}: expected at least {min_bytes} bytes, got {len(raw)}")
    declared = _PRIMARY + 1 + int.from_bytes(raw[4:6], "big")
    if declared != len(raw):
        raise LinkError("length", f"{what}: expected {declared} bytes as the CCSDS length field "
                                  f"says, got {len(raw)}")
    if binascii.crc_hqx(raw, 0xFFFF) != 0:
        crc = binascii.crc_hqx(raw[:-_CRC], 0xFFFF)
        raise LinkError("crc", f"{what}: CRC-16 expected {crc:04x}, got {raw[-2:].hex()} "
                               f"(bit errors)")
    return raw


def _check_primary(sp: object, packet_type: PacketType, what: str) -> int:
    """The checks on the primary header that spacepackets leaves to us; returns the APID."""
    got = (sp.ccsds_version, sp.packet_type, sp.sec_header_flag, sp.seq_flags)
    want = (0, packet_type, True, SequenceFlags.UNSEGMENTED)
    if got != want:
        raise LinkError("header", f"{what}: expected version 0, type {packet_type.name}, "
                                  f"secondary header, unsegmented; got version {got[0]}, type "
                                  f"{PacketType(got[1]).name}, secondary header {got[2]}, "
                                  f"sequence flags {int(got[3])}")
    if sp.apid not in APP_OF_APID:
        raise LinkError("header", f"{what}: APID expected one of "
                                  f"{', '.join(f'{a:#x}' for a in APP_OF_APID)}, got {sp.apid:#x}")
    return sp.apid


def pdu_problem(pdu: bytes) -> str | None:
    """What is wrong with the fixed header of a CFDP PDU (CCSDS 727.0-B-5 §5.1), or None.
    Checks only the framing (version 2 coded 0b001, and a header length plus PDU data
    field length equal to the bytes given), so that a message sent on the PDU service by
    mistake is refused here; the file-delivery layer parses the rest."""
    if len(pdu) < 4:
        return f"expected a CFDP PDU of at least 4 bytes, got {len(pdu)}"
    if pdu[0] >> 5 != 0b001:
        return f"expected CFDP version bits 001, got {pdu[0] >> 5:03b}"
    header = 4 + 2 * (((pdu[3] >> 4) & 0b111) + 1) + (pdu[3] & 0b111) + 1
    total = header + int.from_bytes(pdu[1:3], "big")
    if total != len(pdu):
        return (f"expected a CFDP PDU of {total} bytes as its header says "
                f"({header} header + data field), got {len(pdu)}")
    return None


def _decode_icd(payload: bytes, what: str) -> Message:
    try:
        return decode(payload)
    except DecodeError as exc:
        raise LinkError("body", f"{what}: expected an ICD message, got: {exc}") from None


# ------------------------------------------------------------------ telecommands


class TcSigner:
    """The ground's signing state: the key in use (``key``, replace it to rotate) and the
    next anti-replay number (``next_seq``, persisted by the owner across restarts: a
    restarted signer that reuses numbers is refused as a replay)."""

    def __init__(self, key: LinkKey, next_seq: int = 1) -> None:
        if not isinstance(key, LinkKey):
            raise ValueError(f"key: expected a LinkKey, got {type(key).__name__}")
        if type(next_seq) is not int or not 1 <= next_seq <= MAX_AUTH_SEQ:
            raise ValueError(f"next_seq: expected an integer in [1, {MAX_AUTH_SEQ}], "
                             f"got {next_seq!r:.40}")
        self.key = key
        self.next_seq = next_seq

    def take(self) -> int:
        """Consume and return the next anti-replay number."""
        if self.next_seq > MAX_AUTH_SEQ:
            raise ValueError(f"next_seq: anti-replay numbers of key {self.key.key_id} exhausted "
                             f"(expected at most {MAX_AUTH_SEQ}); rotate to a fresh key")
        seq = self.next_seq
        self.next_seq += 1
        return seq


def encode_tc(item: Message | bytes, *, apid: int, seq_count: int, signer: TcSigner) -> bytes:
    """One authenticated TC packet carrying ``item`` (an ICD message with a TC mapping, or
    CFDP PDU bytes for comms). Consumes one anti-replay number of ``signer``. Raises
    ValueError (naming the field) for anything the satellite would refuse: no mapping, an
    APID that is not the body's app, a message that does not decode, more than
    :data:`MAX_TC_BYTES`."""
    body = item.body if isinstance(item, Message) else item
    service, subtype = tc_service_of(body)
    if isinstance(item, Message):
        payload = encode(item)
        decode(payload)  # a DecodeError (a ValueError) names the bad field
    elif pdu_problem(item):
        raise ValueError(f"item: {pdu_problem(item)}")
    else:
        payload = item
    target = _tc_target(body)
    if target not in APIDS:
        raise ValueError(f"item: {type(body).__name__}.target expected one of "
                         f"{', '.join(APIDS)}, got {target!r:.40}")
    if APIDS[target] != apid:
        got = f"{apid:#x}" if type(apid) is int else repr(apid)
        raise ValueError(f"apid: expected {APIDS[target]:#x} ({target}, the "
                         f"{type(body).__name__}'s app), got {got:.40}")
    size = _PRIMARY + _TC_SEC + _SEC_HDR + len(payload) + _TRAILER
    if size > MAX_TC_BYTES:
        raise ValueError(f"item: expected a telecommand of at most {MAX_TC_BYTES} bytes, got "
                         f"{size} ({type(body).__name__} of {len(payload)} bytes)")
    count = _seq(seq_count)
    auth_seq = signer.take()
    head = signer.key.key_id.to_bytes(2, "big") + auth_seq.to_bytes(4, "big") + payload
    tc = PusTc(service=service, message_subtype=subtype, apid=apid, seq_count=count,
               app_data=head + bytes(MAC_BYTES))
    draft = tc.pack()  # fixes the header (its length field counts the MAC)
    tc.app_data = head + mac(signer.key.secret, bytes(draft[:-_TRAILER]))
    return bytes(tc.pack())


@dataclass(frozen=True, slots=True)
class VerifierStatistics:
    """A snapshot of a :class:`TcVerifier`'s counters."""

    accepted: int
    rejected: tuple[tuple[str, int], ...]  # (reason, count), in REJECT_REASONS order
    active_key_id: int


class TcVerifier:
    """The satellite's telecommand gate. ``keys``: key id -> 32-byte secret (preloaded);
    ``active_key_id``: the only key accepted; ``last_seq``: key id -> last accepted
    anti-replay number (restored from storage after a restart).

    :meth:`decode` raises nothing but :class:`LinkError`, whatever it is given."""

    def __init__(self, keys: dict[int, bytes], active_key_id: int,
                 last_seq: dict[int, int] | None = None) -> None:
        for key_id, secret in keys.items():
            LinkKey(key_id, secret)  # validates
        if active_key_id not in keys:
            raise ValueError(f"active_key_id: expected one of {sorted(keys)}, "
                             f"got {active_key_id!r:.40}")
        self._keys = dict(keys)
        self._active = active_key_id
        self._last_seq: dict[int, int] = {}
        for key_id, seq in (last_seq or {}).items():
            if type(key_id) is not int or not 1 <= key_id <= MAX_KEY_ID:
                raise ValueError(f"last_seq: key id expected an integer in [1, {MAX_KEY_ID}], "
                                 f"got {key_id!r:.40}")
            if type(seq) is not int or not 0 <= seq <= MAX_AUTH_SEQ:
                raise ValueError(f"last_seq[{key_id}]: expected an integer in "
                                 f"[0, {MAX_AUTH_SEQ}], got {seq!r:.40}")
            self._last_seq[key_id] = seq
        self.rejected: Counter[str] = Counter()
        self.accepted = 0

    @property
    def active_key_id(self) -> int:
        return self._active

    @property
    def last_seq(self) -> dict[int, int]:
        """A copy of key id -> last accepted anti-replay number, to persist."""
        return dict(self._last_seq)

    def activate(self, key_id: int) -> None:
        """Accept only ``key_id`` from now on; LinkError (reason auth_key) if not loaded."""
        if type(key_id) is not int or key_id not in self._keys:
            raise LinkError("auth_key", f"activate: key id expected one of "
                                        f"{sorted(self._keys)}, got {key_id!r:.40}")
        self._active = key_id

    def statistics(self) -> VerifierStatistics:
        return VerifierStatistics(self.accepted, tuple((r, self.rejected[r]) for r in
                                                       REJECT_REASONS), self._active)

    def decode(self, raw: bytes) -> Telecommand:
        """Check one uplinked frame (see the module docstring for the order) and return
        the telecommand, or raise :class:`LinkError` and count the reason."""
        try:
            tc = self._decode(raw)
        except LinkError as exc:
            self.rejected[exc.reason] += 1
            raise
        self.accepted += 1
        return tc

    def _decode(self, raw: object) -> Telecommand:
        raw = _frame(raw, MAX_TC_BYTES, MIN_TC_BYTES, "telecommand")
        try:
            tc = PusTc.unpack(raw)
        except Exception as exc:  # spacepackets raises several types; all mean "not PUS-C"
            raise LinkError("header", f"telecommand: expected a PUS-C TC header, got: "
                                      f"{type(exc).__name__}: {exc}") from None
        apid = _check_primary(tc.sp_header, PacketType.TC, "telecommand")
        key = (tc.service, tc.message_subtype)
        if key not in TC_SERVICES:
            raise LinkError("service", f"telecommand: service/subtype expected one of "
                                       f"{sorted(TC_SERVICES)}, got {key}")
        data = tc.app_data
        key_id = int.from_bytes(data[0:2], "big")
        auth_seq = int.from_bytes(data[2:6], "big")
        if key_id != self._active:
            state = "a loaded but inactive key" if key_id in self._keys else "an unknown key"
            raise LinkError("auth_key", f"telecommand: key id expected {self._active} (active), "
                                        f"got {key_id} ({state})")
        if not mac_matches(self._keys[key_id], raw[:-_TRAILER], data[-MAC_BYTES:]):
            raise LinkError("auth_mac", f"telecommand: expected the HMAC-SHA256 of key {key_id}, "
                                        f"got a MAC that does not match (forged or tampered)")
        last = self._last_seq.get(key_id, 0)
        if auth_seq <= last:
            raise LinkError("replay", f"telecommand: anti-replay number expected above {last} "
                                      f"for key {key_id}, got {auth_seq}")
        self._last_seq[key_id] = auth_seq
        payload = data[_SEC_HDR:-MAC_BYTES]
        message, pdu = self._payload(key, apid, payload)
        return Telecommand(apid, key[0], key[1], tc.seq_count, key_id, auth_seq,
                           int.from_bytes(raw[0:4], "big"), message, pdu)

    @staticmethod
    def _payload(key: tuple[int, int], apid: int, payload: bytes) -> tuple:
        cls = TC_SERVICES[key]
        if cls is None:
            problem = pdu_problem(payload)
            if problem:
                raise LinkError("body", f"telecommand 210/1: {problem}")
            if apid != APIDS["comms"]:
                raise LinkError("body", f"telecommand: a CFDP PDU expected on APID "
                                        f"{APIDS['comms']:#x} (comms), got {apid:#x}")
            return None, payload
        msg = _decode_icd(payload, f"telecommand {key[0]}/{key[1]}")
        if type(msg.body) is not cls:
            raise LinkError("body", f"telecommand {key[0]}/{key[1]}: expected {cls.__name__}, "
                                    f"got {type(msg.body).__name__}")
        target = _tc_target(msg.body)
        if APIDS.get(target) != apid:
            raise LinkError("body", f"telecommand: {cls.__name__} for {target!r:.40} expected "
                                    f"on its app's APID, got {apid:#x} ({APP_OF_APID[apid]})")
        return msg, None


# --------------------------------------------------------------------- telemetry


def _pus1_override(body: object, subtype: int) -> bool:
    """Whether a CommandResponse may travel as PUS 1 ``subtype``: its stage is the sender's
    to say (e.g. a command comms refuses at acceptance is 1/2), its outcome is not (odd
    subtypes report success, even ones failure). JobAck and JobState carry their stage."""
    ok = type(body) is CommandResponse and body.status == "OK"
    return type(body) is CommandResponse and 1 <= subtype <= 8 and subtype % 2 == int(ok)


def encode_tm(item: Message | bytes | None, *, apid: int, seq_count: int, t_ns: int,
              epoch_utc: datetime | str, request_id: int = 0,
              subtype: int | None = None) -> bytes:
    """One TM packet carrying ``item`` (an ICD message with a TM mapping, CFDP PDU bytes,
    or None for a bare 1/1 acceptance with ``subtype=1``), stamped ``epoch_utc + t_ns``.
    ``request_id`` (PUS 1 only) names the TC answered; ``subtype`` overrides the PUS 1
    stage of a CommandResponse (same outcome only). ``seq_count`` is taken modulo 16384. ValueError naming the
    field otherwise. The message is not validated here (the ground's decode does)."""
    apid = _apid(apid)
    if item is None:
        if subtype != 1:
            raise ValueError(f"item: None only for a bare 1/1 acceptance (subtype=1), "
                             f"got subtype {subtype!r}")
        (service, sub), payload = (1, 1), b""
    elif type(item) is bytes:
        if pdu_problem(item):
            raise ValueError(f"item: {pdu_problem(item)}")
        (service, sub), payload = TM_CFDP_PDU, item
    elif isinstance(item, Message):
        (service, sub), payload = tm_service_of(item.body), encode(item)
    else:
        raise ValueError(f"item: expected a Message, CFDP PDU bytes or None, "
                         f"got {type(item).__name__}")
    if subtype is not None and subtype != sub:
        if not _pus1_override(getattr(item, "body", None), subtype):
            raise ValueError(f"subtype: expected {sub} for {type(getattr(item, 'body', item)).__name__}"
                             f" (a CommandResponse: any PUS 1 stage of its outcome), got {subtype!r}")
        sub = subtype
    if type(request_id) is not int or not 0 <= request_id <= 0xFFFF_FFFF:
        raise ValueError(f"request_id: expected a u32, got {request_id!r:.40}")
    if request_id and service != 1:
        raise ValueError(f"request_id: only PUS 1 reports carry one, got {request_id:#x} "
                         f"for service {service}")
    if service == 1:
        source = request_id.to_bytes(4, "big") + payload
    elif service == 3:
        source = item.env.kind.to_bytes(2, "big") + payload
    elif service == 5:
        source = event_id(item.body.name).to_bytes(2, "big") + payload
    else:
        source = payload
    size = _PRIMARY + _TM_SEC + len(source) + _CRC
    if size > MAX_TM_BYTES:
        raise ValueError(f"item: expected a telemetry packet of at most {MAX_TM_BYTES} bytes, "
                         f"got {size}")
    stamp = cds_from_t_ns(t_ns, epoch_utc).pack()
    tm = PusTm(service=service, message_subtype=sub, timestamp=stamp, source_data=source,
               apid=apid, seq_count=_seq(seq_count))
    return bytes(tm.pack())


def decode_tm(raw: bytes, epoch_utc: datetime | str) -> Telemetry:
    """Parse and fully check one TM packet; :class:`LinkError` (reasons as for TCs, no
    auth) on anything wrong, whatever the bytes."""
    origin_ns = epoch_ns(epoch_utc)
    raw = _frame(raw, MAX_TM_BYTES, MIN_TM_BYTES, "telemetry")
    try:
        tm = PusTm.unpack(raw, timestamp_len=_STAMP)
        days, ms_of_day = CdsShortTimestamp.unpack_from_raw(tm.timestamp)
    except Exception as exc:  # spacepackets raises several types; all mean "not PUS-C"
        raise LinkError("header", f"telemetry: expected a PUS-C TM header with a CDS short "
                                  f"stamp, got: {type(exc).__name__}: {exc}") from None
    apid = _check_primary(tm.sp_header, PacketType.TM, "telemetry")
    if ms_of_day >= _MS_PER_DAY:
        raise LinkError("header", f"telemetry: CDS ms of day expected below {_MS_PER_DAY}, "
                                  f"got {ms_of_day}")
    key = (tm.service, tm.message_subtype)
    if key not in TM_SERVICES:
        raise LinkError("service", f"telemetry: service/subtype expected one of "
                                   f"{sorted(TM_SERVICES)}, got {key}")
    request_id, message, pdu = _tm_source(key, tm.source_data)
    t_ns = (days * _MS_PER_DAY + ms_of_day) * _NS_PER_MS - origin_ns
    return Telemetry(apid, key[0], key[1], tm.seq_count, t_ns, request_id, message, pdu)


def _tm_source(key: tuple[int, int], data: bytes) -> tuple[int, Message | None, bytes | None]:
    """(request id, message, pdu) from TM source data, checked against the service."""
    service, subtype = key
    what = f"telemetry {service}/{subtype}"
    if key == TM_CFDP_PDU:
        problem = pdu_problem(data)
        if problem:
            raise LinkError("body", f"{what}: {problem}")
        return 0, None, data
    head = {1: 4, 3: 2, 5: 2}.get(service, 0)
    if len(data) < head:
        raise LinkError("body", f"{what}: expected at least {head} bytes of source data, "
                                f"got {len(data)}")
    tag = int.from_bytes(data[:head], "big")
    if service == 1 and len(data) == head and subtype == 1:
        return tag, None, None  # a bare acceptance
    msg = _decode_icd(data[head:], what)
    try:
        natural = tm_service_of(msg.body)
    except ValueError:
        natural = None
    if natural != key and not (service == 1 and _pus1_override(msg.body, subtype)):
        raise LinkError("body", f"{what}: expected a body that travels as {service}/{subtype}, "
                                f"got {type(msg.body).__name__} (travels as {natural})")
    if service == 3 and tag != msg.env.kind:
        raise LinkError("body", f"{what}: structure id expected {msg.env.kind} "
                                f"({type(msg.body).__name__}), got {tag}")
    if service == 5 and tag != event_id(msg.body.name):
        raise LinkError("body", f"{what}: event id expected {event_id(msg.body.name)} "
                                f"(of {msg.body.name!r:.40}), got {tag}")
    return (tag if service == 1 else 0), msg, None


# ------------------------------------------------------------ sequence counts


class SeqCounters:
    """Per-APID 14-bit source sequence counters for a sender: 0, 1, ..., 16383, 0, ..."""

    def __init__(self) -> None:
        self._next: dict[int, int] = {}

    def next(self, apid: int) -> int:
        if type(apid) is not int or not 0 <= apid < 2048:
            raise ValueError(f"apid: expected an integer in [0, 2047], got {apid!r:.40}")
        count = self._next.get(apid, 0)
        self._next[apid] = (count + 1) % SEQ_MODULO
        return count


class GapDetector:
    """Counts packets lost per APID from 14-bit sequence counts (DESIGN.md §9).

    A count ahead of the last by d (mod 16384, 1 <= d < 8192) means d - 1 were missed; a
    repeat, or one behind (reordered or duplicated), counts 0 and adds to ``repeated``,
    leaving the last count where it was. A gap of 8192 or more cannot be told from
    reordering with 14-bit counts; it is taken as reordering."""

    def __init__(self) -> None:
        self._last: dict[int, int] = {}
        self.missed = 0
        self.repeated = 0

    def observe(self, apid: int, seq_count: int) -> int:
        """Packets missed on ``apid`` just before this one."""
        if type(seq_count) is not int or not 0 <= seq_count < SEQ_MODULO:
            raise ValueError(f"seq_count: expected an integer in [0, {SEQ_MODULO}), "
                             f"got {seq_count!r:.40}")
        last = self._last.get(apid)
        if last is None:
            self._last[apid] = seq_count
            return 0
        ahead = (seq_count - last) % SEQ_MODULO
        if ahead == 0 or ahead >= SEQ_MODULO // 2:
            self.repeated += 1
            return 0
        self._last[apid] = seq_count
        self.missed += ahead - 1
        return ahead - 1


def packet_ids() -> list[PacketId]:
    """Packet ids of our TM on every APID, for ``parse_space_packets`` on a byte stream."""
    return [PacketId(PacketType.TM, True, apid) for apid in sorted(APP_OF_APID)]


def tc_packet_ids() -> list[PacketId]:
    """Packet ids of our TCs on every APID (to split an uplink byte stream)."""
    return [PacketId(PacketType.TC, True, apid) for apid in sorted(APP_OF_APID)]
