#!/usr/bin/env python3
"""Independent UDS peers on the Linux kernel's ISO-TP (CAN_ISOTP sockets through Python's own socket
module): none of sensor-proxy's code is involved, so flashing this ECU checks our stack against an
independent ISO-TP (net/can/isotp.c) and an independent UDS server. Used by test/vm and test/bench.

  uds_kernel_peer.py ecu    --iface vcan0 [--rx 0x7E0 --tx 0x7E8] [--fd] [--bs 0] [--stmin 0]
                            [--pending N] [--power-loss-after BLOCKS] [--version 1.0.0] [--trace]
  uds_kernel_peer.py tester --iface vcan0 --image FILE [--rx 0x7E8 --tx 0x7E0] [--fd] [--bs 0]
  uds_kernel_peer.py sink   --iface vcan0 [--rx 0x7E0 --tx 0x7E8]     (plain ISO-TP: receives and drops)
  uds_kernel_peer.py source --iface vcan0 --count N --size BYTES [--rx 0x7E0 --tx 0x7E8]

ECU: programming session (P2 50 ms, P2* 5000 ms), seed/key (key = seed XOR 5A A5 3C C3), erase
0xFF00, RequestDownload (maxNumberOfBlockLength 4095), TransferData with block counter checks (a
repeat of the last block is acknowledged without rewriting), RequestTransferExit, check routine
0x0202 (CRC-32 of the image), ECUReset (silent 100 ms, then runs the image's version: the "SPFW"
header of hw-fixtures/can/firmware-image.ts), TesterPresent, ReadDataByIdentifier 0xF189.
--pending N answers N x NRC 0x78 before erase, transfer exit and check, and before every 16th block.
--power-loss-after B loses power when block B+1 arrives (download state lost, silent 300 ms), once.
Prints "ready" on stdout when listening, "flashed <version> <bytes>" and "received sha256 <hex>" (of
the bytes it took, as a readback would show them) after each good check, and with --trace
"request <sid>" (hex) for every request it receives.

Tester: the same flash sequence (ISO 14229-1 services, reference/bus-protocols.md §1.3) as a plain
client, printing "tester <bytes> bytes in <seconds> s" for the download phase and the whole run.
"""
import argparse
import binascii
import hashlib
import os
import socket
import struct
import sys
import time

SOL_CAN_ISOTP = socket.SOL_CAN_BASE + socket.CAN_ISOTP
CAN_ISOTP_OPTS, CAN_ISOTP_RECV_FC, CAN_ISOTP_LL_OPTS = 1, 2, 5
CAN_ISOTP_TX_PADDING = 0x0004
CAN_ISOTP_FRAME_TXTIME_ZERO = 0xFFFFFFFF


def isotp_socket(args, rx, tx, timeout=None):
    s = socket.socket(socket.AF_CAN, socket.SOCK_DGRAM, socket.CAN_ISOTP)
    # struct can_isotp_options: flags, frame_txtime, ext_address, txpad, rxpad, rx_ext_address
    s.setsockopt(SOL_CAN_ISOTP, CAN_ISOTP_OPTS,
                 struct.pack("=IIBBBB", CAN_ISOTP_TX_PADDING, CAN_ISOTP_FRAME_TXTIME_ZERO, 0, 0xCC, 0xCC, 0))
    s.setsockopt(SOL_CAN_ISOTP, CAN_ISOTP_RECV_FC, struct.pack("=BBB", args.bs, args.stmin, 0))
    if args.fd:
        s.setsockopt(SOL_CAN_ISOTP, CAN_ISOTP_LL_OPTS, struct.pack("=BBB", 72, 64, 1))
    flag = socket.CAN_EFF_FLAG if rx > 0x7FF or tx > 0x7FF else 0
    s.bind((args.iface, rx | flag, tx | flag))
    s.settimeout(timeout)
    return s


def image_version(flash):
    if flash[:4] != b"SPFW":
        return None
    return flash[8:32].split(b"\0", 1)[0].decode("ascii", "replace")


def run_ecu(args):
    version = args.version
    flash = bytearray()
    s = isotp_socket(args, args.rx, args.tx)
    state = {"session": 1, "unlocked": False, "seed": b"", "download": None, "bsc": 0, "blocks": 0,
             "silent_until": 0.0, "power_lost": False}
    mask = bytes([0x5A, 0xA5, 0x3C, 0xC3])
    print("ready", flush=True)

    def send(data):
        try:
            s.send(bytes(data))
        except OSError as e:  # interface down, no flow control: the tester will time out
            print(f"ecu send failed: {e}", file=sys.stderr, flush=True)

    def pending(n):
        for _ in range(n):
            send([0x7F, sid, 0x78])
            time.sleep(0.002)

    def nrc(code):
        send([0x7F, sid, code])

    while True:
        try:
            req = s.recv(70000)
        except OSError as e:
            print(f"ecu recv error: {e}", file=sys.stderr, flush=True)
            time.sleep(0.05)
            continue
        if not req or time.monotonic() < state["silent_until"]:
            continue
        sid = req[0]
        if args.trace:
            print(f"request {sid:02x}", flush=True)
        if sid == 0x10:
            state.update(session=req[1], unlocked=False, download=None)
            send([0x50, req[1], 0x00, 0x32, 0x01, 0xF4])
        elif sid == 0x27:
            if req[1] == 0x01:
                state["seed"] = os.urandom(4)
                send(bytes([0x67, 0x01]) + state["seed"])
            elif req[1] == 0x02:
                key = bytes(b ^ mask[i % 4] for i, b in enumerate(state["seed"]))
                if req[2:] == key:
                    state["unlocked"] = True
                    send([0x67, 0x02])
                else:
                    nrc(0x35)
        elif sid == 0x31:
            rid = (req[2] << 8) | req[3]
            if rid == 0xFF00:
                if not state["unlocked"]:
                    nrc(0x33)
                    continue
                pending(args.pending)
                flash = bytearray()
                send([0x71, 0x01, 0xFF, 0x00, 0x00])
            elif rid == 0x0202:
                pending(args.pending)
                crc = struct.unpack(">I", req[4:8])[0]
                good = (binascii.crc32(flash) & 0xFFFFFFFF) == crc
                send([0x71, 0x01, 0x02, 0x02, 0x00 if good else 0x01])
                if good:
                    print(f"flashed {image_version(flash)} {len(flash)}", flush=True)
                    print(f"received sha256 {hashlib.sha256(flash).hexdigest()}", flush=True)
            else:
                nrc(0x31)
        elif sid == 0x34:
            if not state["unlocked"]:
                nrc(0x33)
                continue
            alfid = req[2]
            al, sl = alfid & 0x0F, alfid >> 4
            size = int.from_bytes(req[3 + al:3 + al + sl], "big")
            state.update(download=size, bsc=0, blocks=0)
            send([0x74, 0x20, 0x0F, 0xFF])  # maxNumberOfBlockLength 4095
        elif sid == 0x36:
            if state["download"] is None:
                nrc(0x24)
                continue
            bsc = req[1]
            if bsc == state["bsc"] and state["blocks"] > 0:
                send([0x76, bsc])  # repeat of the last block: acknowledged, not rewritten
                continue
            if bsc != (state["bsc"] + 1) & 0xFF:
                nrc(0x73)
                continue
            if args.power_loss_after is not None and not state["power_lost"] \
                    and state["blocks"] == args.power_loss_after:
                state.update(power_lost=True, session=1, unlocked=False, download=None,
                             silent_until=time.monotonic() + 0.3)
                print("power loss", flush=True)
                continue
            if state["blocks"] % 16 == 15:
                pending(args.pending)
            flash += req[2:]
            state["bsc"] = bsc
            state["blocks"] += 1
            send([0x76, bsc])
        elif sid == 0x37:
            pending(args.pending)
            state["download"] = None
            send([0x77])
        elif sid == 0x11:
            send([0x51, req[1]])
            v = image_version(flash)
            if v:
                version = v
            state.update(session=1, unlocked=False, download=None, silent_until=time.monotonic() + 0.1)
        elif sid == 0x3E:
            if req[1] & 0x80 == 0:
                send([0x7E, 0x00])
        elif sid == 0x22 and req[1:3] == b"\xF1\x89":
            send(b"\x62\xF1\x89" + version.encode("ascii"))
        else:
            nrc(0x11)


def run_tester(args):
    image = open(args.image, "rb").read()
    s = isotp_socket(args, args.rx, args.tx, timeout=args.p2)

    def request(data):
        s.send(bytes(data))
        while True:
            r = s.recv(70000)
            if r[0] == 0x7F and r[2] == 0x78:
                continue
            if r[0] == 0x7F:
                raise RuntimeError(f"NRC 0x{r[2]:02x} for 0x{data[0]:02x}")
            return r

    t0 = time.monotonic()
    request([0x10, 0x02])
    seed = request([0x27, 0x01])[2:]
    request(bytes([0x27, 0x02]) + bytes(b ^ [0x5A, 0xA5, 0x3C, 0xC3][i % 4] for i, b in enumerate(seed)))
    request(bytes([0x31, 0x01, 0xFF, 0x00, 0x44]) + struct.pack(">II", 0x08000000, len(image)))
    r = request(bytes([0x34, 0x00, 0x44]) + struct.pack(">II", 0x08000000, len(image)))
    n = r[1] >> 4
    block = int.from_bytes(r[2:2 + n], "big") - 2
    t1 = time.monotonic()
    bsc = 1
    for off in range(0, len(image), block):
        request(bytes([0x36, bsc]) + image[off:off + block])
        bsc = (bsc + 1) & 0xFF
    t2 = time.monotonic()
    request([0x37])
    request(bytes([0x31, 0x01, 0x02, 0x02]) + struct.pack(">I", binascii.crc32(image) & 0xFFFFFFFF))
    t3 = time.monotonic()
    print(f"tester {len(image)} bytes in {t2 - t1:.3f} s download, {t3 - t0:.3f} s session..check", flush=True)


def run_sink(args):
    s = isotp_socket(args, args.rx, args.tx)
    print("ready", flush=True)
    n = 0
    while True:
        try:
            s.recv(70000)
            n += 1
        except OSError as e:  # a reception error (no CF in time): keep listening
            print(f"sink recv error after {n} messages: {e}", file=sys.stderr, flush=True)


def run_source(args):
    s = isotp_socket(args, args.rx, args.tx)
    data = bytes(i & 0xFF for i in range(args.size))
    for _ in range(args.count):
        s.send(data)
    s.close()  # waits for the last PDU to finish
    print(f"sent {args.count}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("role", choices=["ecu", "tester", "sink", "source"])
    p.add_argument("--iface", default="vcan0")
    p.add_argument("--rx", type=lambda v: int(v, 0))
    p.add_argument("--tx", type=lambda v: int(v, 0))
    p.add_argument("--fd", action="store_true")
    p.add_argument("--bs", type=int, default=0)
    p.add_argument("--stmin", type=int, default=0)
    p.add_argument("--pending", type=int, default=0)
    p.add_argument("--power-loss-after", type=int)
    p.add_argument("--version", default="1.0.0")
    p.add_argument("--trace", action="store_true")
    p.add_argument("--image")
    p.add_argument("--p2", type=float, default=20.0)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--size", type=int, default=4095)
    args = p.parse_args()
    if args.role in ("sink", "source"):
        args.rx = 0x7E0 if args.rx is None else args.rx
        args.tx = 0x7E8 if args.tx is None else args.tx
        (run_sink if args.role == "sink" else run_source)(args)
    elif args.role == "ecu":
        args.rx = 0x7E0 if args.rx is None else args.rx
        args.tx = 0x7E8 if args.tx is None else args.tx
        run_ecu(args)
    else:
        args.rx = 0x7E8 if args.rx is None else args.rx
        args.tx = 0x7E0 if args.tx is None else args.tx
        run_tester(args)


if __name__ == "__main__":
    main()
