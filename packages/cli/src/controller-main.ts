/**
 * `ingot-controller [flags]`: the controller on its own — the flags of `ingot controller`,
 * without the rest of the CLI. This is the entry of the production bundle
 * `packages/controller/dist/ingot-controller.mjs` (`pnpm build:controller`, see bundles.ts),
 * which the systemd unit runs with plain `node`.
 */
import { runMain } from './run-main.ts';
import { runController } from './servers.ts';

const USAGE = `Usage: ingot-controller --data DIR [--http HOST:PORT] [--grpc HOST:PORT]
       [--db sqlite:FILE|postgres://USER@HOST:PORT/DB] [--name NAME] …
The flags of \`ingot controller\` (see \`ingot --help\`); a flag not given falls back to INGOT_<FLAG>.
`;

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) process.stdout.write(USAGE);
else runMain(() => runController(argv), USAGE);
