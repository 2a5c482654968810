#!/bin/sh
# Captures one DHCPDISCOVER from each real client into <client>-discover.bin (the UDP payload
# only). Needs root, iproute2, tcpdump, isc-dhcp-client, busybox, python3. The two namespaces
# have no IP addresses at all: the clients broadcast, nothing answers.
set -eu
cd "$(dirname "$0")"
NS=ingot-cap-$$
ip netns add "$NS-a"; ip netns add "$NS-b"
trap 'ip netns del "$NS-a"; ip netns del "$NS-b"' EXIT
ip link add capa netns "$NS-a" type veth peer name capb netns "$NS-b"
ip -n "$NS-a" link set capa address 52:54:00:c0:ff:01 up
ip -n "$NS-b" link set capb up
capture() { # name, command…
  name=$1; shift
  ip netns exec "$NS-b" timeout 8 tcpdump -i capb -c 1 -w "/tmp/$NS-$name.pcap" 'udp dst port 67' 2>/dev/null &
  sleep 1
  ip netns exec "$NS-a" timeout 5 "$@" >/dev/null 2>&1 || true
  wait
  python3 pcap-to-bin.py "/tmp/$NS-$name.pcap" "$name-discover.bin"
  rm -f "/tmp/$NS-$name.pcap"
}
capture dhclient dhclient -1 -d -v -sf /bin/true -lf "/tmp/$NS.leases" -pf "/tmp/$NS.pid" capa
capture udhcpc busybox udhcpc -i capa -f -q -n -t 1 -T 2 -s /bin/true -V PXEClient:Arch:00000:UNDI:002001 -x 0x5d:0000
rm -f "/tmp/$NS.leases" "/tmp/$NS.pid"
