#!/usr/bin/env python3
"""Ingot boot-segment router advertisement sender (standard library only, Linux, CAP_NET_RAW).

Why: iPXE configures IPv4 (DHCP) and IPv6 (SLAAC) in parallel and waits for both; on a segment
without a router advertisement the IPv6 side times out after ~13 s, on every boot. One RA with
router lifetime 0 ends that wait at once, and changes nothing else:

- router lifetime 0: "not a default router" (RFC 4861 §4.2, §6.3.4), so no host gets a default route;
- no Prefix Information option: no host autoconfigures an address;
- M and O flags clear: iPXE does not start DHCPv6 (stateful or stateless) either.

It answers each Router Solicitation (RFC 4861 §6.2.6) at once, unicast to the soliciting host's
link-local address (multicast to ff02::1 when the RS source is ::, at most one every 3 s as
§6.2.6 requires), and sends an unsolicited multicast RA every --interval seconds. It stays quiet
while another router advertises on the segment (--no-defer to turn that off), so it never competes
with a real IPv6 router.

Usage: ra-sender.py --interface br0 [--interval 30] [--no-defer] [--verbose]
Prints "ra-sender: ready on <if>" once it is listening; stops on SIGTERM/SIGINT.
"""

import argparse
import ipaddress
import select
import signal
import socket
import struct
import sys
import time

ICMPV6_RS = 133
ICMPV6_RA = 134
ALL_NODES = "ff02::1"
ALL_ROUTERS = "ff02::2"
MIN_DELAY_BETWEEN_RAS = 3.0  # RFC 4861 §10, for multicast RAs
DEFER_SECONDS = 1800.0  # MaxRtrAdvInterval upper bound (RFC 4861 §6.2.1)
# Linux <netinet/icmp6.h>; not exported by the socket module.
ICMP6_FILTER = 1
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)


def log(msg: str) -> None:
    print(f"ra-sender: {msg}", flush=True)


def interface_mac(ifname: str) -> bytes:
    with open(f"/sys/class/net/{ifname}/address", encoding="ascii") as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def link_local(ifname: str) -> str | None:
    """The interface's non-tentative link-local address, if any (/proc/net/if_inet6)."""
    try:
        with open("/proc/net/if_inet6", encoding="ascii") as f:
            for line in f:
                addr, _idx, _plen, scope, flags, name = line.split()
                # scope 0x20 = link; flag 0x40 = IFA_F_TENTATIVE
                if name == ifname and int(scope, 16) == 0x20 and not int(flags, 16) & 0x40:
                    return str(ipaddress.IPv6Address(bytes.fromhex(addr)))
    except FileNotFoundError:
        pass
    return None


def build_ra(mac: bytes) -> bytes:
    """RFC 4861 §4.2 Router Advertisement; the kernel fills in the ICMPv6 checksum."""
    header = struct.pack(
        "!BBHBBHII",
        ICMPV6_RA,  # type
        0,  # code
        0,  # checksum (computed by the kernel for raw ICMPv6 sockets)
        64,  # cur hop limit suggested to hosts
        0,  # flags: M=0, O=0 (no DHCPv6)
        0,  # router lifetime 0: not a default router
        0,  # reachable time: unspecified
        0,  # retrans timer: unspecified
    )
    # Source Link-Layer Address option (type 1, length 1 = 8 bytes): saves hosts a neighbor
    # solicitation for us.
    slla = struct.pack("!BB", 1, 1) + mac
    return header + slla


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interface", required=True)
    parser.add_argument("--interval", type=float, default=30.0, help="unsolicited RA period, s")
    parser.add_argument("--no-defer", action="store_true", help="advertise even beside a router")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    ifname: str = args.interface

    ifindex = socket.if_nametoindex(ifname)
    mac = interface_mac(ifname)
    deadline = time.monotonic() + 10
    own = link_local(ifname)
    while own is None:
        if time.monotonic() > deadline:
            log(f"{ifname} has no usable IPv6 link-local address (is IPv6 disabled?)")
            return 1
        time.sleep(0.1)
        own = link_local(ifname)

    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, ifname.encode())
    # RFC 4861 §6.1.2: hosts drop RAs whose hop limit is not 255.
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
    # Receive only RS and RA (struct icmp6_filter: a set bit blocks that type).
    blocked = [0xFFFFFFFF] * 8
    for t in (ICMPV6_RS, ICMPV6_RA):
        blocked[t >> 5] &= ~(1 << (t & 31))
    sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("=8I", *blocked))
    mreq = socket.inet_pton(socket.AF_INET6, ALL_ROUTERS) + struct.pack("@I", ifindex)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)

    ra = build_ra(mac)
    running = True

    def stop(_sig: int, _frame: object) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    foreign_router_until = 0.0
    last_multicast = 0.0
    next_unsolicited = time.monotonic()

    def send(dest: str) -> None:
        nonlocal last_multicast
        try:
            sock.sendto(ra, (dest, 0, 0, ifindex))
            if dest == ALL_NODES:
                last_multicast = time.monotonic()
            if args.verbose:
                log(f"RA -> {dest}")
        except OSError as e:  # e.g. the interface went down; keep serving
            log(f"send to {dest} failed: {e}")

    log(f"ready on {ifname} (link-local {own})")
    while running:
        now = time.monotonic()
        deferring = not args.no_defer and now < foreign_router_until
        if now >= next_unsolicited:
            if not deferring and now - last_multicast >= MIN_DELAY_BETWEEN_RAS:
                send(ALL_NODES)
            next_unsolicited = now + args.interval
        timeout = max(0.0, min(next_unsolicited - time.monotonic(), 1.0))
        try:
            ready, _, _ = select.select([sock], [], [], timeout)
        except InterruptedError:
            continue
        if not ready:
            continue
        data, anc, _flags, src = sock.recvmsg(1500, socket.CMSG_SPACE(4))
        hop_limit = None
        for level, ctype, cdata in anc:
            if level == socket.IPPROTO_IPV6 and ctype == socket.IPV6_HOPLIMIT:
                hop_limit = struct.unpack("@i", cdata[:4])[0]
        if len(data) < 8 or hop_limit != 255:  # RFC 4861 §6.1.1 validity checks
            continue
        source = src[0].split("%")[0]
        if data[0] == ICMPV6_RA and source != own:
            if now >= foreign_router_until and not args.no_defer:
                log(f"another router ({source}) advertises on {ifname}: deferring to it")
            foreign_router_until = time.monotonic() + DEFER_SECONDS
        elif data[0] == ICMPV6_RS and not deferring:
            if args.verbose:
                log(f"RS from {source}")
            if source == "::":
                if time.monotonic() - last_multicast >= MIN_DELAY_BETWEEN_RAS:
                    send(ALL_NODES)
            else:
                send(source)
    sock.close()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
