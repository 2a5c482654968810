/**
 * The simulator's DHCP and TFTP clients against small servers on loopback that lose packets:
 * the clients must retransmit as firmware does and still end with the right lease and bytes.
 */
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { startDhcpClient, type DhcpClient } from './dhcp-client.ts';
import { DHCP } from './dhcp-packet.ts';
import { tftpRead } from './tftp-client.ts';

const sockets: Socket[] = [];
let client: DhcpClient | undefined;
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await client?.close();
  client = undefined;
});

async function udp(
  onMessage: (socket: Socket, msg: Buffer, port: number) => void,
): Promise<number> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  socket.on('message', (msg, rinfo) => onMessage(socket, msg, rinfo.port));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return socket.address().port;
}

/** A BOOTREPLY for `request` of message type `type`. */
function answer(request: Buffer, type: number, yiaddr: string): Buffer {
  const out = Buffer.alloc(300);
  out[0] = 2;
  out[1] = 1;
  out[2] = 6;
  request.copy(out, 4, 4, 8); // xid
  request.copy(out, 28, 28, 44); // chaddr
  Buffer.from(yiaddr.split('.').map(Number)).copy(out, 16);
  Buffer.from([127, 0, 0, 1]).copy(out, 20);
  Buffer.from('undionly.kpxe').copy(out, 108);
  Buffer.from([99, 130, 83, 99, 53, 1, type, 54, 4, 127, 0, 0, 1, 255]).copy(out, 236);
  return out;
}

const typeOf = (msg: Buffer): number | undefined => (msg[240] === 53 ? msg[242] : undefined);

describe('DHCP client', () => {
  it('retransmits a lost DISCOVER and a lost REQUEST, then holds the ACKed lease', async () => {
    const seen: number[] = [];
    const port = await udp((socket, msg, from) => {
      const type = typeOf(msg);
      if (type === undefined) return;
      seen.push(type);
      // Lose the first of each.
      if (seen.filter((t) => t === type).length === 1) return;
      const reply = answer(msg, type === DHCP.DISCOVER ? DHCP.OFFER : DHCP.ACK, '10.9.0.7');
      socket.send(reply, from, '127.0.0.1');
    });
    client = await startDhcpClient({
      retry: { initialDelayMs: 50, maxDelayMs: 100, timeoutMs: 5000 },
      port: 0,
      serverPort: port,
      broadcast: '127.0.0.1',
    });
    const lease = await client.dora('52:f1:00:01:00:02', 'pxe-bios', new AbortController().signal);
    expect(lease).toEqual({
      ip: '10.9.0.7',
      serverId: '127.0.0.1',
      siaddr: '127.0.0.1',
      file: 'undionly.kpxe',
    });
    expect(seen).toEqual([DHCP.DISCOVER, DHCP.DISCOVER, DHCP.REQUEST, DHCP.REQUEST]);
  });

  it('gives up after its time bound when no server answers, and on abort at once', async () => {
    const port = await udp(() => undefined);
    client = await startDhcpClient({
      retry: { initialDelayMs: 20, maxDelayMs: 40, timeoutMs: 300 },
      port: 0,
      serverPort: port,
      broadcast: '127.0.0.1',
    });
    expect(
      await client.dora('52:f1:00:01:00:02', 'udhcpc', new AbortController().signal),
    ).toBeUndefined();
    const abort = new AbortController();
    const pending = client.dora('52:f1:00:01:00:03', 'udhcpc', abort.signal);
    abort.abort();
    expect(await pending).toBeUndefined();
  });
});

describe('TFTP client', () => {
  const file = Buffer.alloc(5000 + 17, 7).map((_, i) => i % 251);

  /** A server that answers with OACK, loses the first copy of block 2 and duplicates block 3. */
  async function server(
    loseBlock: number,
    loseFinalAck = false,
  ): Promise<{ port: number; requests: string[]; acks: number[] }> {
    const requests: string[] = [];
    const acks: number[] = [];
    let finalAckLost = false;
    let lost = false;
    const port = await udp((_listen, msg, from) => {
      if (msg[1] !== 1) return;
      requests.push(msg.subarray(2).toString().split('\0').slice(0, 1).join());
      const transfer = createSocket('udp4');
      sockets.push(transfer);
      const blksize = 1024;
      const data = (block: number): Buffer =>
        Buffer.concat([
          Buffer.from([0, 3, block >> 8, block & 255]),
          file.subarray((block - 1) * blksize, block * blksize),
        ]);
      transfer.on('message', (ack) => {
        const block = ((ack[2] ?? 0) << 8) | (ack[3] ?? 0);
        const last = Math.floor(file.length / blksize) + 1;
        if (block === last && loseFinalAck && !finalAckLost) {
          // The final ACK is lost: the server sends the final block again.
          finalAckLost = true;
          transfer.send(data(last), from, '127.0.0.1');
          return;
        }
        acks.push(block);
        const next = block + 1;
        if ((next - 1) * blksize > file.length) return;
        if (next === loseBlock && !lost) {
          lost = true;
          return;
        }
        transfer.send(data(next), from, '127.0.0.1');
        if (next === 3 && !loseFinalAck) transfer.send(data(next), from, '127.0.0.1');
      });
      transfer.bind(0, '127.0.0.1', () => {
        transfer.send(
          Buffer.from(`\0\x06blksize\x001024\0tsize\0${file.length}\0`),
          from,
          '127.0.0.1',
        );
      });
    });
    return { port, requests, acks };
  }

  it('reads every byte once through a lost block and a duplicated one', async () => {
    const s = await server(2);
    const got = await tftpRead({
      server: '127.0.0.1',
      port: s.port,
      filename: 'undionly.kpxe',
      localAddress: '127.0.0.1',
      retryMs: 100,
      signal: new AbortController().signal,
    });
    expect(got).toEqual({
      bytes: file.length,
      sha256: createHash('sha256').update(file).digest('hex'),
    });
    expect(s.requests).toEqual(['undionly.kpxe']);
    await new Promise((r) => setTimeout(r, 50));
    expect(s.acks.at(-1)).toBe(5); // the final ACK reached the server
  });

  it('re-acknowledges a retransmitted final block after it finished (dallies)', async () => {
    const s = await server(0, true);
    await tftpRead({
      server: '127.0.0.1',
      port: s.port,
      filename: 'undionly.kpxe',
      localAddress: '127.0.0.1',
      retryMs: 100,
      signal: new AbortController().signal,
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(s.acks.filter((b) => b === 5)).toEqual([5]);
  });

  it('fails after its retries when the server goes silent, and reports a TFTP error', async () => {
    const silent = await udp(() => undefined);
    await expect(
      tftpRead({
        server: '127.0.0.1',
        port: silent,
        filename: 'x',
        localAddress: '127.0.0.1',
        retryMs: 20,
        retries: 2,
        signal: new AbortController().signal,
      }),
    ).rejects.toThrow(/no answer after 2 retries/);
    const refusing = await udp((socket, _msg, from) => {
      socket.send(Buffer.from('\0\x05\0\x01File not found\0'), from, '127.0.0.1');
    });
    await expect(
      tftpRead({
        server: '127.0.0.1',
        port: refusing,
        filename: 'x',
        localAddress: '127.0.0.1',
        signal: new AbortController().signal,
      }),
    ).rejects.toThrow(/error 1 File not found/);
  });
});
