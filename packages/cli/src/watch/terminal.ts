/** The real terminal for `--wait` and `events --follow`: stdout, stderr, and Ctrl-C. */
import type { WaitIo } from './wait-command.ts';

/**
 * `out` goes where the command's output goes; a progress bar is drawn only when stdout is a
 * terminal (and `TERM` is not `dumb`). Ctrl-C aborts `interrupt` once; a second one exits.
 */
export function terminalIo(out: (text: string) => void): WaitIo {
  const interrupt = new AbortController();
  process.once('SIGINT', () => {
    interrupt.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  return {
    out: (text) => {
      if (text !== '') out(text);
    },
    err: (text) => void process.stderr.write(text),
    tty: process.stdout.isTTY && process.env.TERM !== 'dumb',
    columns: process.stdout.columns,
    interrupt: interrupt.signal,
  };
}
