/**
 * `ingot-agent [flags]`: the rack agent on its own — the flags of `ingot agent`, without the rest
 * of the CLI. This is the entry of the production bundle `packages/rack-agent/dist/ingot-agent.mjs`
 * (`pnpm build:agent`, see bundles.ts), which the systemd unit runs with AGENT_NODE_FLAGS.
 */
import { runMain } from './run-main.ts';
import { runAgent } from './servers.ts';

const USAGE = `Usage: ingot-agent --controller HOST:PORT[,HOST:PORT…] --data DIR [--enroll-token T]
       [--interface IF …] [--http HOST:PORT] [--tftp HOST:PORT|off] [--dhcp PORT|off] …
The flags of \`ingot agent\` (see \`ingot --help\`); a flag not given falls back to INGOT_<FLAG>.
`;

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) process.stdout.write(USAGE);
else runMain(() => runAgent(argv), USAGE);
