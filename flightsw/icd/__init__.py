"""The interface control document as code: message types, topic ids and the codec.

The only part of ``flightsw`` that ``sim`` and ``groundsw`` may import (DESIGN.md §2).
"""

from flightsw.icd.codec import DecodeError, decode, encode
from flightsw.icd.messages import (
    BODY_TYPES,
    Category,
    CmdStatus,
    Envelope,
    JobStateName,
    Message,
    Mode,
    Severity,
    category_of,
)

__all__ = [
    "BODY_TYPES",
    "Category",
    "CmdStatus",
    "DecodeError",
    "Envelope",
    "JobStateName",
    "Message",
    "Mode",
    "Severity",
    "category_of",
    "decode",
    "encode",
]
