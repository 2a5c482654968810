/**
 * `ingot events [--machine ID] [--limit N] [--follow]`: the event history, then (with
 * `--follow`) new events live, drawn by the same timeline renderer as `--wait` (progress bars on
 * a terminal, plain lines in logs), reconnecting from the last event seen when the stream drops.
 */
import { parse, UsageError } from './args.ts';
import { call, type ClientOptions } from './client.ts';
import { EXIT } from './exit-codes.ts';
import { toStreamEvent } from './watch/event.ts';
import { followEvents } from './watch/follow.ts';
import { terminalIo } from './watch/terminal.ts';
import { Timeline } from './watch/timeline.ts';

/** `ingot events`. */
export async function events(
  argv: string[],
  client: ClientOptions,
  json: boolean,
  out: (text: string) => void,
): Promise<number> {
  const { values, positionals } = parse(argv, {
    machine: { type: 'string' },
    follow: { type: 'boolean', short: 'f' },
    limit: { type: 'string' },
  });
  if (positionals.length > 0)
    throw new UsageError(`unexpected ${JSON.stringify(positionals[0])}: use --machine ID`);
  const query = new URLSearchParams();
  if (values.machine !== undefined) query.set('machine', values.machine);
  if (values.limit !== undefined) {
    const n = Number(values.limit);
    if (!Number.isInteger(n) || n < 1) throw new UsageError('--limit must be a whole number ≥ 1');
    query.set('limit', String(n));
  }
  const io = terminalIo(out);
  const timeline = new Timeline({
    tty: values.follow === true && io.tty,
    time: 'absolute',
    showMachine: values.machine === undefined,
    showActor: true,
    columns: io.columns,
  });
  const history = await call(client, 'GET', `/api/v1/events?${query.toString()}`);
  let after = 0;
  for (const raw of Array.isArray(history) ? history : []) {
    const e = toStreamEvent(raw);
    if (e === undefined) continue;
    after = Math.max(after, e.seq);
    io.out(json ? `${JSON.stringify(raw)}\n` : timeline.event(e));
  }
  if (values.follow !== true) {
    io.out(timeline.end());
    return EXIT.ok;
  }
  await followEvents({
    client,
    machineId: values.machine,
    after,
    signal: io.interrupt ?? new AbortController().signal,
    onEvent: (e, raw) => {
      io.out(json ? `${JSON.stringify(raw)}\n` : timeline.event(e));
      return false;
    },
    onNotice: (notice) => {
      io.out(timeline.end());
      io.err(`ingot: ${notice}\n`);
    },
  });
  io.out(timeline.end());
  return EXIT.ok;
}
