"""Goodput of the CFDP class 2 engine over a pass-limited, lossy downlink.

    python bench/cfdp_goodput.py [--files 20] [--rates-mbps 50,0.5] [--losses 0,0.01,0.1]
                                 [--pass-s 600] [--period-s 5400] [--seed 1]
                                 [--ack-timer-s 10] [--nak-timer-s 10] [--json]

Twenty result files of 1-4 MB (seeded) go from a FileSender to a FileReceiver in
lockstep ticks of 1 s (one tick of latency each way, as on the bus). The link is up for
``pass_s`` out of every ``period_s`` seconds; during a pass the sender may send
``rate/8`` bytes per tick; at loss of signal whatever is in flight is lost. Each PDU, in
either direction, is lost with probability ``loss`` (seeded). Default engine config
(8 KiB segments, 10 s ACK and NAK timers unless given). After the first NAK round the
tail is bound by those timers: a lost retransmission, NAK, EOF or FINISHED costs one
timer period of contact time.

Per (rate, loss) it reports: efficiency = file bytes delivered / link bytes the sender
sent; goodput = file bytes delivered per second of contact used (contact seconds from
the first tick to the tick the last file finished); passes needed; file bytes
retransmitted; and the uplink bytes the receiver sent. Ticks outside passes are skipped
(one link-down poll at LOS, then time jumps to the next AOS).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from spacepackets.cfdp import ConditionCode  # noqa: E402

from flightsw.icd.cfdp import CfdpConfig, FileReceiver, FileSender  # noqa: E402
from flightsw.icd.cfdp.config import NS_PER_S  # noqa: E402

MB = 1_000_000


def make_files(n_files: int, seed: int) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    return [(f"results/job-{i:03d}.bin", rng.randbytes(rng.randint(1 * MB, 4 * MB)))
            for i in range(n_files)]


def run(files: list[tuple[str, bytes]], rate_mbps: float, loss: float, pass_s: int,
        period_s: int, seed: int, config: CfdpConfig, max_passes: int = 200) -> dict:
    """Deliver ``files``; return the figures for one (rate, loss) cell."""
    rng = random.Random(seed)
    stored: dict[str, bytes] = {}

    def accept(name: str, data: bytes) -> ConditionCode:
        stored[name] = data
        return ConditionCode.NO_ERROR

    sender, receiver = FileSender(config), FileReceiver(config, accept)
    for name, data in files:
        sender.put(name, data, t_ns=0)
    budget_bytes = int(rate_mbps * MB / 8)
    to_receiver: list[bytes] = []
    to_sender: list[bytes] = []
    finished = []
    up_bytes = 0
    contact_s = 0
    passes = 0
    t0 = time.perf_counter()
    while len(finished) < len(files) and passes < max_passes:
        passes += 1
        aos_s = (passes - 1) * period_s
        for k in range(pass_s):
            t_ns = (aos_s + k) * NS_PER_S
            for pdu in to_sender:
                sender.handle(pdu, t_ns)
            for pdu in to_receiver:
                receiver.handle(pdu, t_ns)
            down = sender.poll(t_ns, budget_bytes, True)
            up = receiver.poll(t_ns, True)
            up_bytes += sum(map(len, up))
            to_receiver = [p for p in down if rng.random() >= loss]
            to_sender = [p for p in up if rng.random() >= loss]
            contact_s += 1
            finished += sender.drain_finished()
            if len(finished) == len(files):
                break
        los_ns = (aos_s + pass_s) * NS_PER_S
        sender.poll(los_ns, budget_bytes, False)
        receiver.poll(los_ns, False)
        to_receiver, to_sender = [], []
    wall_s = time.perf_counter() - t0
    originals = dict(files)
    intact = all(stored.get(name) == data for name, data in originals.items())
    delivered = sum(len(originals[f.name]) for f in finished if f.delivered)
    stats = sender.statistics()
    return {
        "rate_mbps": rate_mbps,
        "loss": loss,
        "files": len(files),
        "files_delivered": sum(f.delivered for f in finished),
        "all_byte_identical": intact,
        "file_bytes_delivered": delivered,
        "link_bytes_down": stats["link_bytes_sent"],
        "link_bytes_up": up_bytes,
        "efficiency": delivered / stats["link_bytes_sent"],
        "contact_s_used": contact_s,
        "goodput_mbps_per_contact_s": delivered * 8 / MB / contact_s,
        "passes_needed": passes,
        "file_bytes_retransmitted": stats.get("file_bytes_resent", 0),
        "eof_resent": stats.get("eof_resent", 0),
        "nak_pdus": receiver.statistics().get("nak_pdus_sent", 0),
        "wall_s": round(wall_s, 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--rates-mbps", default="50,0.5")
    ap.add_argument("--losses", default="0,0.01,0.1")
    ap.add_argument("--pass-s", type=int, default=600)
    ap.add_argument("--period-s", type=int, default=5400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ack-timer-s", type=float, default=10.0)
    ap.add_argument("--nak-timer-s", type=float, default=10.0)
    ap.add_argument("--json", action="store_true", help="print the rows as JSON (last line)")
    args = ap.parse_args()
    files = make_files(args.files, args.seed)
    config = CfdpConfig(ack_timer_ns=round(args.ack_timer_s * NS_PER_S),
                        nak_timer_ns=round(args.nak_timer_s * NS_PER_S))
    rows = [run(files, float(rate), float(loss), args.pass_s, args.period_s, args.seed, config)
            for rate in args.rates_mbps.split(",") for loss in args.losses.split(",")]
    total_mb = sum(len(d) for _, d in files) / MB
    print(f"{args.files} files, {total_mb:.1f} MB; passes of {args.pass_s} s every "
          f"{args.period_s} s; 1 s ticks; ACK/NAK timers {args.ack_timer_s:g}/"
          f"{args.nak_timer_s:g} s")
    print(f"{'Mbit/s':>7} {'loss':>5} {'deliv':>6} {'efficiency':>10} {'goodput Mbit/s':>15} "
          f"{'contact s':>9} {'passes':>6} {'retx MB':>8} {'uplink kB':>9} {'wall s':>6}")
    for r in rows:
        print(f"{r['rate_mbps']:>7g} {r['loss']:>5.0%} {r['files_delivered']:>3}/{r['files']:<2} "
              f"{r['efficiency']:>10.4f} {r['goodput_mbps_per_contact_s']:>15.2f} "
              f"{r['contact_s_used']:>9} {r['passes_needed']:>6} "
              f"{r['file_bytes_retransmitted'] / MB:>8.2f} {r['link_bytes_up'] / 1000:>9.1f} "
              f"{r['wall_s']:>6.2f}")
    if args.json:
        print(json.dumps({"bench": "cfdp_goodput", "total_file_mb": total_mb,
                          "ack_timer_s": args.ack_timer_s, "nak_timer_s": args.nak_timer_s,
                          "rows": rows}))
    return 0 if all(r["all_byte_identical"] and r["files_delivered"] == r["files"]
                    for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
