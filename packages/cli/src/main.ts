/**
 * `ingot`: the one command for operators (DESIGN.md §9). Server commands start processes;
 * the others talk to a controller's API (`INGOT_URL`, `INGOT_API_KEY`, or `--url`, `--key`).
 */
import { type ClientOptions } from './client.ts';
import { UsageError } from './args.ts';
import { machines, racks, users } from './api-commands.ts';
import { events } from './events-command.ts';
import { completion, completeWords } from './completion.ts';
import { lab } from './lab.ts';
import { images } from './images-commands.ts';
import { keys } from './keys-commands.ts';
import { apiKey } from './api-key-command.ts';
import { setPassword } from './password-command.ts';
import { runMain } from './run-main.ts';
import { runAgent, runController, runUp } from './servers.ts';

const USAGE = `Usage: ingot <command> [options]

Servers:
  up [--data DIR] [--tftp HOST:PORT]  controller + one local rack agent (SQLite in DIR, default .data)
  controller --data DIR [--http HOST:PORT] [--grpc HOST:PORT] [--db sqlite:FILE]
             [--advertise NAME,… (more names agents dial, for the gRPC TLS certificate)]
             [--insecure-grpc (plaintext rack port, no certificates; tests only)]
             [--deploy-timeout 30m] [--commission-timeout 30m] [--release-timeout 30m]
  agent --controller HOST:PORT [--controller …] --enroll-token T --data DIR
        [--interface IF …] [--http HOST:PORT] [--tftp HOST:PORT|off (default 0.0.0.0:69)]
        [--dhcp PORT|off (default 67, on --interface devices or all)] [--power-poll 30s]
        [--controller-http URL[,URL…] (metadata proxy and images; default port 5240 on each controller)]
        [--insecure-grpc (plaintext to a controller started with --insecure-grpc; tests only)]

Operators (--url URL --key KEY, or INGOT_URL / INGOT_API_KEY; --json for scripts):
  machines list [--status S] | show ID | create --mac MAC [--hostname H --arch A --cpus N --memory MiB
           --storage GiB --tags a,b --zone Z --pool P --power-type T --power-params JSON --rack ID --ready]
  machines update ID [--hostname H --power-type T --power-params JSON --tags a,b --zone Z --pool P --rack ID]
  machines allocate [--name --arch --cpus --mem --storage --tags --not-tags --zone --pool]
  machines deploy ID [--os debian --release bookworm --kernel K --user-data TEXT --ephemeral]
           [--user-data-file FILE --package P … --run CMD … --file LOCAL:/REMOTE[:MODE] …]
  machines release ID [--erase quick|full] | commission ID
           deploy, commission and release take --wait [--timeout 60m]: follow the steps live,
           then exit 0 done, 3 failed, 4 timed out (1: the controller refused or is unreachable)
  machines abort|mark-broken|mark-fixed ID [--comment TEXT]
  machines lock|unlock|delete ID
  machines power ID on|off|cycle|status
  racks list | enroll-token | revoke ID     revoke: the rack's certificate and secret stop working
  images list | show ID | delete ID
  images import DIR|ARCHIVE(.tar[.gz|.zst]) [--os OS --release R --arch A --kernel-params P]
         [--boot-from OS/RELEASE (kernel+initrd of an imported image, for custom root images)]
  users list | create NAME [--role admin|user]
  users api-key [--maas] [--name N]        a new API key for you (--maas: MAAS consumer:token:secret)
  users set-password NAME [--password-stdin]  web UI sign-in password (stdin or prompt)
  keys list | add FILE.pub|- | remove ID      your SSH keys, installed on machines you deploy
  events [--machine ID] [--follow] [--limit N]
  completion bash|zsh                      shell completion: source <(ingot completion bash)

Virtual lab (root; QEMU VMs behind ipmi_sim and Redfish BMCs, PXE-booting from a lab rack agent):
  lab up [--machines N (default 2)] [--uefi] [--data DIR (default .data/lab)] [--controller-grpc HOST:PORT]
  lab status [--data DIR] | lab down [--data DIR]
`;

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const global = {
    json: false,
    url: process.env.INGOT_URL ?? 'http://127.0.0.1:5240',
    key: process.env.INGOT_API_KEY,
  };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--json') global.json = true;
    else if (a === '--url' || a === '--key') {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      if (a === '--url') global.url = v;
      else global.key = v;
    } else rest.push(a);
  }
  const [command, ...args] = rest;
  const client: ClientOptions = { url: global.url, key: global.key };
  const out = (text: string): void => void process.stdout.write(text);
  if (command === 'users' && args[0] === 'set-password')
    return setPassword(args.slice(1), client, out);
  if (command === 'users' && args[0] === 'api-key')
    return apiKey(args.slice(1), client, global.json, out);
  switch (command) {
    case 'up':
      return runUp(args);
    case 'controller':
      return runController(args);
    case 'agent':
      return runAgent(args);
    case 'machines':
      return machines(args, client, global.json, out);
    case 'racks':
      return racks(args, client, global.json, out);
    case 'users':
      return users(args, client, global.json, out);
    case 'events':
      return events(args, client, global.json, out);
    case 'images':
      return images(args, client, global.json, out);
    case 'keys':
      return keys(args, client, global.json, out);
    case 'lab':
      return lab(args, client, out);
    case 'completion':
      return completion(args, out);
    case '__complete':
      return completeWords(args, client, out);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

runMain(() => main(process.argv.slice(2)), USAGE);
