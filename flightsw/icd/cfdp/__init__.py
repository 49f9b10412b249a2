"""CFDP class 2 (acknowledged) file delivery on sim time: results and logs to the ground.

Our own engine, pure and deterministic, stepped once per tick with integer ``t_ns``;
the wire format is the CFDP PDU classes of ``spacepackets`` 0.32.0 (CCSDS 727.0-B-5).
cfdp-py 0.7.0 is not used here because its timers read the wall clock; it serves as an
independent peer in the interop tests. One PDU travels in one space packet; this package
deals in PDU bytes only.

- :class:`FileSender` (onboard, comms): ``put``, ``handle``, ``poll``, ``drain_finished``.
- :class:`FileReceiver` (ground, station): ``handle``, ``poll``, ``accept`` callback.
- :class:`CfdpConfig` and :func:`validate_file_name`, shared by both.
"""

from flightsw.icd.cfdp.config import CfdpConfig, validate_file_name
from flightsw.icd.cfdp.receiver import Accept, FileReceiver
from flightsw.icd.cfdp.sender import FileSender, Finished, PendingTransfer

__all__ = [
    "Accept",
    "CfdpConfig",
    "FileReceiver",
    "FileSender",
    "Finished",
    "PendingTransfer",
    "validate_file_name",
]
