import { UsageError } from './args.ts';
import { ApiError } from './client.ts';
import { EXIT } from './exit-codes.ts';

/**
 * Runs a command's entry and sets the process exit code: its own, or the one for the error it
 * threw (usage, API, agent start, anything else with its stack). Shared by `ingot` and the
 * bundled `ingot-agent`.
 */
export function runMain(run: () => Promise<number>, usage: string): void {
  run().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      if (e instanceof UsageError) {
        process.stderr.write(`ingot: ${e.message}\n\n${usage}`);
        process.exitCode = EXIT.usage;
      } else if (e instanceof ApiError) {
        process.stderr.write(`ingot: ${e.message}\n${e.hint === undefined ? '' : `  ${e.hint}\n`}`);
        process.exitCode = EXIT.api;
      } else if (e instanceof Error && e.name === 'AgentStartError') {
        process.stderr.write(`ingot: ${e.message}\n`);
        process.exitCode = 1;
      } else {
        process.stderr.write(`ingot: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        process.exitCode = 1;
      }
    },
  );
}
