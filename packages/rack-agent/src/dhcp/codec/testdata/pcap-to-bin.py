"""Writes the UDP payload of the first packet in a pcap (Ethernet link type) to a file."""
import struct, sys
data = open(sys.argv[1], 'rb').read()
link = struct.unpack('<I', data[20:24])[0]
incl = struct.unpack('<I', data[24 + 8:24 + 12])[0]
frame = data[40:40 + incl]
offset = 14 if link == 1 else 16  # Ethernet, or Linux cooked capture
ihl = (frame[offset] & 15) * 4
udp = offset + ihl
length = struct.unpack('>H', frame[udp + 4:udp + 6])[0]
open(sys.argv[2], 'wb').write(frame[udp + 8:udp + length])
