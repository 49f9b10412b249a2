"""PDU bytes in and out: the CFDP PDU classes of ``spacepackets`` 0.32.0, made strict.

``parse`` is the only place where bytes from the link become objects. It never lets a
library exception through: every failure is a :class:`PduError` whose ``reason`` is a
stable counter name. It is stricter than ``PduFactory.from_raw`` in three ways:

- the buffer must be exactly as long as the header says (``FileDataPdu.unpack`` would
  otherwise take trailing bytes as file data);
- enum fields that ``spacepackets`` leaves as bare ints (ACK fields, the EOF condition)
  are converted, so an undefined value is refused here rather than later;
- the EOF condition code is normalised: ``EofPdu.unpack`` in 0.32.0 keeps
  ``byte & 0xF0`` without shifting, so a cancel (15) would arrive as 240.
"""

from __future__ import annotations

from spacepackets.cfdp import (
    ConditionCode,
    CrcFlag,
    Direction,
    InvalidCrcError,
    LargeFileFlag,
    PduConfig,
    TransmissionMode,
)
from spacepackets.cfdp.defs import CFDP_VERSION_2
from spacepackets.cfdp.pdu import (
    AckPdu,
    DirectiveType,
    EofPdu,
    FileDataPdu,
    FinishedPdu,
    MetadataPdu,
    NakPdu,
    PduFactory,
    TransactionStatus,
)
from spacepackets.cfdp.pdu.header import AbstractPduBase
from spacepackets.util import UnsignedByteField

__all__ = [
    "ENTITY_ID_BYTES",
    "SEQ_NUM_BYTES",
    "Pdu",
    "PduError",
    "file_data_overhead_bytes",
    "header_bytes",
    "metadata_pdu_bytes",
    "nak_pdu_bytes",
    "check_header",
    "parse",
    "pdu_conf",
]

ENTITY_ID_BYTES = 2
SEQ_NUM_BYTES = 4
_FIXED_HEADER_BYTES = 4
_OFFSET_BYTES = 4  # FileData offset field, LargeFileFlag.NORMAL
_CRC_BYTES = 2

Pdu = MetadataPdu | FileDataPdu | EofPdu | NakPdu | FinishedPdu | AckPdu


class PduError(ValueError):
    """Bytes that are not a PDU this engine takes; ``reason`` names the counter."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def pdu_conf(
    source_entity_id: int | UnsignedByteField,
    dest_entity_id: int | UnsignedByteField,
    seq_num: int | UnsignedByteField,
    crc: bool,
) -> PduConfig:
    """A fresh PduConfig for one PDU (class 2, 32-bit file sizes).

    Always a new object: ``NakPdu.__init__`` sets ``direction`` on the config it is given
    instead of on a copy. Ints become 2-byte entity ids and a 4-byte sequence number; a
    receiver passes the peer's own fields to answer with the widths it used.
    """
    return PduConfig(
        source_entity_id=_field(source_entity_id, ENTITY_ID_BYTES),
        dest_entity_id=_field(dest_entity_id, ENTITY_ID_BYTES),
        transaction_seq_num=_field(seq_num, SEQ_NUM_BYTES),
        trans_mode=TransmissionMode.ACKNOWLEDGED,
        file_flag=LargeFileFlag.NORMAL,
        crc_flag=CrcFlag.WITH_CRC if crc else CrcFlag.NO_CRC,
    )


def _field(value: int | UnsignedByteField, byte_len: int) -> UnsignedByteField:
    if isinstance(value, UnsignedByteField):
        return UnsignedByteField(value.value, value.byte_len)
    return UnsignedByteField(value, byte_len)


def header_bytes() -> int:
    return _FIXED_HEADER_BYTES + 2 * ENTITY_ID_BYTES + SEQ_NUM_BYTES


def file_data_overhead_bytes(crc: bool) -> int:
    """Bytes a FileData PDU adds to its segment (header, offset, optional CRC)."""
    return header_bytes() + _OFFSET_BYTES + (_CRC_BYTES if crc else 0)


def metadata_pdu_bytes(source_name_octets: int, dest_name_octets: int, crc: bool) -> int:
    """Length of a Metadata PDU without options: header, directive code, flags octet,
    32-bit file size, two LV names, optional CRC."""
    return (header_bytes() + 1 + 1 + 4 + (1 + source_name_octets) + (1 + dest_name_octets)
            + (_CRC_BYTES if crc else 0))


def nak_pdu_bytes(n_requests: int, crc: bool) -> int:
    """Length of a NAK PDU with ``n_requests`` segment requests (32-bit offsets)."""
    return header_bytes() + 1 + 8 + 8 * n_requests + (_CRC_BYTES if crc else 0)


def parse(raw: object) -> Pdu:
    """The PDU in ``raw``; :class:`PduError` for anything else (never another exception).

    Keep-alive and prompt PDUs are refused (``unexpected_pdu``): this engine sends neither
    and needs neither.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise PduError("not_bytes", f"expected bytes, got {type(raw).__name__}")
    data = bytes(raw)
    if len(data) < _FIXED_HEADER_BYTES:
        raise PduError("truncated", f"expected >= {_FIXED_HEADER_BYTES} bytes, got {len(data)}")
    version = (data[0] >> 5) & 0b111
    if version != CFDP_VERSION_2:
        raise PduError("bad_version", f"expected CFDP version {CFDP_VERSION_2}, got {version}")
    declared = AbstractPduBase.header_len_from_raw(data) + (data[1] << 8 | data[2])
    if len(data) != declared:
        raise PduError("length_mismatch", f"header says {declared} bytes, got {len(data)}")
    try:
        pdu = PduFactory.from_raw(data)
        if pdu is None:
            raise PduError("unexpected_pdu", "directive not handled by this engine")
        return _normalise(pdu)
    except PduError:
        raise
    except InvalidCrcError as exc:
        raise PduError("pdu_crc", str(exc)) from None
    except Exception as exc:  # noqa: BLE001 -- any library failure on hostile bytes
        raise PduError("malformed", f"{type(exc).__name__}: {exc}") from None


def _normalise(pdu: object) -> Pdu:
    if isinstance(pdu, FileDataPdu):
        if len(pdu.file_data) == 0:
            raise PduError("malformed", "FileData PDU without data")
        return pdu
    if isinstance(pdu, EofPdu):
        code = int(pdu.condition_code)
        if code > 0x0F:
            code >>= 4
        pdu.condition_code = ConditionCode(code)
        return pdu
    if isinstance(pdu, AckPdu):
        pdu.directive_code_of_acked_pdu = DirectiveType(pdu.directive_code_of_acked_pdu)
        pdu.condition_code_of_acked_pdu = ConditionCode(pdu.condition_code_of_acked_pdu)
        pdu.transaction_status = TransactionStatus(pdu.transaction_status)
        if pdu.directive_code_of_acked_pdu not in (DirectiveType.EOF_PDU,
                                                   DirectiveType.FINISHED_PDU):
            raise PduError("malformed", "ACK of a directive other than EOF or FINISHED")
        return pdu
    if isinstance(pdu, MetadataPdu | NakPdu | FinishedPdu):
        return pdu
    raise PduError("unexpected_pdu", f"{type(pdu).__name__} not handled by this engine")


def expected_direction(pdu: Pdu) -> Direction:
    """The direction flag a well-formed PDU of this kind carries."""
    if isinstance(pdu, MetadataPdu | FileDataPdu | EofPdu):
        return Direction.TOWARDS_RECEIVER
    if isinstance(pdu, AckPdu) and pdu.directive_code_of_acked_pdu == DirectiveType.FINISHED_PDU:
        return Direction.TOWARDS_RECEIVER
    return Direction.TOWARDS_SENDER


def check_header(pdu: Pdu, crc: bool, source_entity_id: int, dest_entity_id: int) -> None:
    """Refuse a parsed PDU that is not for this transfer pair or not in our profile.

    Raises :class:`PduError` with reason ``crc_flag_mismatch`` (CRC-16 presence differs
    from ``crc``: a flipped flag bit would otherwise turn the CRC into two data bytes),
    ``unacknowledged_mode``, ``large_file_flag``, ``wrong_direction`` or ``wrong_entity``.
    """
    header = pdu.pdu_header
    if (header.crc_flag == CrcFlag.WITH_CRC) != crc:
        raise PduError("crc_flag_mismatch", f"expected CRC flag {int(crc)}")
    if header.transmission_mode != TransmissionMode.ACKNOWLEDGED:
        raise PduError("unacknowledged_mode", "expected class 2 (acknowledged)")
    if header.file_flag != LargeFileFlag.NORMAL:
        raise PduError("large_file_flag", "expected 32-bit file size fields")
    if header.direction != expected_direction(pdu):
        raise PduError("wrong_direction", f"{type(pdu).__name__} with direction "
                                          f"{int(header.direction)}")
    if (header.source_entity_id.value != source_entity_id
            or header.dest_entity_id.value != dest_entity_id):
        raise PduError(
            "wrong_entity",
            f"expected {source_entity_id}->{dest_entity_id}, got "
            f"{header.source_entity_id.value}->{header.dest_entity_id.value}",
        )
