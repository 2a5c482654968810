/**
 * `DatagramTransport` bound to one network device, through a small helper process
 * (`device-helper.py`, SO_BINDTODEVICE). Node's dgram can neither bind to a device nor report
 * the arrival interface (STYLE.md §2); the helper can, so every datagram from this transport
 * carries `ifName`, and every send leaves through that device, broadcasts included. Why a
 * helper and not an addon or one netns per interface: dhcp/DESIGN.md.
 *
 * Frames on the helper's stdin/stdout (big-endian):
 *
 * ```text
 * +----------------+------+------------------------------------------+
 * | length (u32)   | type | body                                     |
 * +----------------+------+------------------------------------------+
 *   type 1 DATAGRAM: IPv4 (4) | port (u16) | payload   both directions
 *   type 2 READY:    bound port (u16)                  helper → agent, once
 *   type 3 ERROR:    UTF-8 text                        helper → agent
 * ```
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@ingot/common';
import type { Datagram, DatagramTransport } from './datagram-transport.ts';

/** The helper script shipped beside this file. */
export const DEVICE_HELPER_PATH = fileURLToPath(new URL('./device-helper.py', import.meta.url));

/** How to start the helper. */
export interface DeviceTransportOptions {
  readonly ifName: string;
  readonly port: number;
  readonly logger: Logger;
  /** Python interpreter; default `python3`. */
  readonly python?: string | undefined;
  /**
   * Words run before the interpreter, e.g. `['ip', 'netns', 'exec', 'rack']` to serve a
   * namespace's devices (tests), or a capability wrapper.
   */
  readonly commandPrefix?: readonly string[] | undefined;
  /** How long to wait for the helper to bind; default 5 s. */
  readonly startTimeoutMs?: number | undefined;
}

const FRAME_DATAGRAM = 1;
const FRAME_READY = 2;
const FRAME_ERROR = 3;
/** Largest frame accepted from the helper: a maximal UDP datagram plus its header. */
const MAX_FRAME_BYTES = 65_535 + 7;

/** Starts the helper for one device; resolves once it has bound, rejects if it cannot. */
export function createDeviceTransport(options: DeviceTransportOptions): Promise<DatagramTransport> {
  const command = [
    ...(options.commandPrefix ?? []),
    options.python ?? 'python3',
    DEVICE_HELPER_PATH,
    options.ifName,
    String(options.port),
  ];
  const [file, ...args] = command;
  if (file === undefined) throw new Error('device transport: empty command');
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const logger = options.logger.child({ ifName: options.ifName });
  let handler: ((datagram: Datagram) => void) | undefined;
  let boundPort = options.port;
  let exited = false;
  let stderr = '';

  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error('device helper did not start in time')),
      options.startTimeoutMs ?? 5000,
    );
    const fail = (error: Error): void => {
      clearTimeout(timer);
      if (!exited) child.kill();
      reject(error);
    };
    const closed = new Promise<void>((done) => {
      child.once('exit', (code) => {
        exited = true;
        if (code !== 0 && code !== null) logger.warn('device helper exited', { code, stderr });
        fail(new Error(`device helper exited (${String(code)}): ${stderr.trim()}`));
        done();
      });
    });
    child.once('error', fail);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });

    const transport: DatagramTransport = {
      onMessage(next) {
        handler = next;
      },
      send(data, to) {
        const octets = to.address.split('.').map(Number);
        const frame = Buffer.alloc(4 + 7 + data.byteLength);
        frame.writeUInt32BE(7 + data.byteLength, 0);
        frame.writeUInt8(FRAME_DATAGRAM, 4);
        octets.forEach((octet, index) => frame.writeUInt8(octet & 255, 5 + index));
        frame.writeUInt16BE(to.port, 9);
        frame.set(data, 11);
        return new Promise((done, failSend) => {
          if (exited) {
            failSend(new Error('device helper is not running'));
            return;
          }
          child.stdin.write(frame, (error) => (error ? failSend(error) : done()));
        });
      },
      localAddress: () => ({ address: '0.0.0.0', port: boundPort }),
      async close() {
        if (!exited) child.stdin.end();
        await closed;
      },
    };

    let pending: Buffer = Buffer.alloc(0);
    child.stdout.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const length = pending.readUInt32BE(0);
        if (length < 1 || length > MAX_FRAME_BYTES) {
          logger.error('device helper sent a bad frame; stopping it', { length });
          child.kill();
          return;
        }
        if (pending.length < 4 + length) break;
        const body = pending.subarray(4, 4 + length);
        pending = pending.subarray(4 + length);
        const type = body.readUInt8(0);
        if (type === FRAME_READY && body.length >= 3) {
          boundPort = body.readUInt16BE(1);
          clearTimeout(timer);
          resolve(transport);
        } else if (type === FRAME_ERROR) {
          logger.warn('device helper', { message: body.subarray(1).toString('utf8') });
        } else if (type === FRAME_DATAGRAM && body.length >= 7) {
          handler?.({
            data: new Uint8Array(body.subarray(7)),
            remoteAddress: `${body[1] ?? 0}.${body[2] ?? 0}.${body[3] ?? 0}.${body[4] ?? 0}`,
            remotePort: body.readUInt16BE(5),
            ifName: options.ifName,
          });
        }
      }
    });
  });
}
