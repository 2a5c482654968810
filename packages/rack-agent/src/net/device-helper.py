#!/usr/bin/env python3
"""Ingot per-interface UDP helper (see packages/rack-agent/src/dhcp/DESIGN.md).

Node's dgram cannot bind a socket to a network device, so this helper does it for one
interface: a UDP socket with SO_BINDTODEVICE (+ SO_REUSEADDR, SO_BROADCAST) on 0.0.0.0:PORT.
Datagrams received on that device only are written to stdout; datagrams read from stdin are
sent out of that device only (broadcasts included). Frames in both directions:

    u32 length (big-endian, of what follows) | u8 type | body
    type 1 DATAGRAM: 4-byte IPv4 address | u16 port | payload   (stdin: destination)
    type 2 READY:    u16 bound port                              (stdout, once)
    type 3 ERROR:    UTF-8 text                                  (stdout)

Usage: device-helper.py IFNAME PORT. Exits when stdin closes.
"""
import os, selectors, socket, struct, sys

SO_BINDTODEVICE = getattr(socket, 'SO_BINDTODEVICE', 25)
out = sys.stdout.buffer

def frame(kind, body):
    out.write(struct.pack('>IB', len(body) + 1, kind) + body)
    out.flush()

def main():
    ifname, port = sys.argv[1], int(sys.argv[2])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, ifname.encode() + b'\0')
    sock.bind(('0.0.0.0', port))
    sock.setblocking(False)
    frame(2, struct.pack('>H', sock.getsockname()[1]))
    stdin = sys.stdin.buffer.fileno()
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ, 'sock')
    sel.register(stdin, selectors.EVENT_READ, 'stdin')
    pending = b''
    while True:
        for key, _ in sel.select():
            if key.data == 'sock':
                for _ in range(64):  # bounded batch, then service stdin too
                    try:
                        data, (addr, rport) = sock.recvfrom(65535)
                    except BlockingIOError:
                        break
                    frame(1, socket.inet_aton(addr) + struct.pack('>H', rport) + data)
                continue
            chunk = os.read(stdin, 1 << 16)
            if not chunk:
                return
            pending += chunk
            while len(pending) >= 4:
                (length,) = struct.unpack('>I', pending[:4])
                if len(pending) < 4 + length:
                    break
                body, pending = pending[4:4 + length], pending[4 + length:]
                if length < 7 or body[0] != 1:
                    continue
                dest = (socket.inet_ntoa(body[1:5]), struct.unpack('>H', body[5:7])[0])
                try:
                    sock.sendto(body[7:], dest)
                except OSError as error:
                    frame(3, f'send to {dest[0]}:{dest[1]}: {error}'.encode())

if __name__ == '__main__':
    try:
        main()
    except Exception as error:  # report, then exit non-zero
        frame(3, str(error).encode())
        sys.exit(1)
