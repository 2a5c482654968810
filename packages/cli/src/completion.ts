/**
 * `ingot completion bash|zsh`: a completion script for commands, subcommands and flags, built
 * from the same flag tables the commands parse with (so it cannot drift from them). Machine ids
 * and hostnames are completed live through the hidden `ingot __complete machines`, which asks
 * the API once with a short timeout and prints nothing when the controller is not there.
 */
import { UsageError } from './args.ts';
import { MACHINE_CREATE_FLAGS, MACHINE_UPDATE_FLAGS } from './api-commands.ts';
import { call, type ClientOptions } from './client.ts';
import { DEPLOY_FLAG_OPTIONS, WAIT_FLAG_OPTIONS } from './deploy-options.ts';
import { importFlags } from './images-commands.ts';
import { labFlags } from './lab-state.ts';
import { agentFlags, controllerFlags, upFlags } from './servers.ts';

const flags = (o: Record<string, unknown>): string[] => Object.keys(o).map((k) => `--${k}`);

/** Commands taking flags only. */
const FLAT: Readonly<Record<string, readonly string[]>> = {
  up: flags(upFlags),
  controller: flags(controllerFlags),
  agent: flags(agentFlags),
  events: ['--machine', '--follow', '--limit'],
};

/** Commands with subcommands: subcommand → its flags. */
const NESTED: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  machines: {
    list: ['--status'],
    show: [],
    create: flags(MACHINE_CREATE_FLAGS),
    update: flags(MACHINE_UPDATE_FLAGS),
    allocate: [
      ...['--name', '--arch', '--cpus', '--mem', '--storage', '--tags', '--not-tags'],
      ...['--zone', '--pool'],
    ],
    deploy: [...flags(DEPLOY_FLAG_OPTIONS), ...flags(WAIT_FLAG_OPTIONS)],
    release: ['--erase', '--comment', ...flags(WAIT_FLAG_OPTIONS)],
    commission: ['--comment', ...flags(WAIT_FLAG_OPTIONS)],
    abort: ['--comment'],
    'mark-broken': ['--comment'],
    'mark-fixed': ['--comment'],
    lock: [],
    unlock: [],
    delete: [],
    power: [],
  },
  racks: { list: [], 'enroll-token': [], revoke: [] },
  images: { list: [], show: [], delete: [], import: flags(importFlags) },
  users: { list: [], create: ['--role'], 'set-password': ['--password-stdin'] },
  keys: { list: [], add: [], remove: [] },
  lab: { up: flags(labFlags), status: ['--data'], down: ['--data'] },
  completion: { bash: [], zsh: [] },
};

/** Subcommands whose positional argument is a machine. */
const TAKES_MACHINE = [
  ...['show', 'deploy', 'release', 'commission', 'abort', 'mark-broken', 'mark-fixed'],
  ...['lock', 'unlock', 'delete', 'power', 'update'],
];

/** Values of flags with a fixed set of choices. */
const CHOICES: Readonly<Record<string, string>> = {
  '--erase': 'quick full',
  '--role': 'admin user',
  '--status':
    'new commissioning ready allocated deploying deployed releasing failed_commissioning failed_deployment failed_releasing broken',
  '--arch': 'amd64 arm64',
  '--power-type': 'ipmi redfish webhook manual',
  '--log-level': 'debug info warn error',
};

const GLOBAL = ['--url', '--key', '--json', '--help'];

/** The bash completion script (zsh runs it through bashcompinit). */
export function bashScript(): string {
  const cases: string[] = [];
  for (const [cmd, list] of Object.entries(FLAT)) {
    cases.push(`    "${cmd} "*) words="${[...list, ...GLOBAL].join(' ')}" ;;`);
  }
  for (const [cmd, subs] of Object.entries(NESTED)) {
    cases.push(`    "${cmd} ") words="${Object.keys(subs).join(' ')}" ;;`);
    for (const [sub, list] of Object.entries(subs)) {
      const machine = cmd === 'machines' && TAKES_MACHINE.includes(sub) ? '; machine=1' : '';
      const power = cmd === 'machines' && sub === 'power' ? '; extra="on off cycle status"' : '';
      cases.push(
        `    "${cmd} ${sub}") words="${[...list, ...GLOBAL].join(' ')}"${machine}${power} ;;`,
      );
    }
  }
  const valueFlags = new Set<string>(['--url', '--key']);
  const nestedLists = Object.values(NESTED).flatMap((subs) => Object.values(subs));
  for (const list of [...Object.values(FLAT), ...nestedLists]) {
    for (const f of list) valueFlags.add(f);
  }
  for (const boolean of ['--json', '--help', '--follow', '--wait', '--ephemeral', '--ready']) {
    valueFlags.delete(boolean);
  }
  for (const boolean of ['--uefi', '--enlist']) valueFlags.delete(boolean);
  const choices = Object.entries(CHOICES)
    .map(([f, c]) => `    ${f}) COMPREPLY=($(compgen -W "${c}" -- "$cur")); return ;;`)
    .join('\n');
  return `# ingot shell completion. bash: source <(ingot completion bash)
# (or save it as /etc/bash_completion.d/ingot); zsh: source <(ingot completion zsh)
_ingot_machines() {
  "\${COMP_WORDS[0]}" __complete machines 2>/dev/null
}
_ingot() {
  local cur prev cmd="" sub="" i w words="" machine="" extra=""
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
    --machine) COMPREPLY=($(compgen -W "$(_ingot_machines)" -- "$cur")); return ;;
${choices}
    ${[...valueFlags].sort().join('|')})
      COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      --url|--key) ((i++)) ;;
      -*) ;;
      *) if [[ -z $cmd ]]; then cmd=$w; elif [[ -z $sub ]]; then sub=$w; fi ;;
    esac
  done
  if [[ -z $cmd ]]; then
    words="${[...Object.keys(FLAT), ...Object.keys(NESTED), 'help'].join(' ')} ${GLOBAL.join(' ')}"
  else
    case "$cmd $sub" in
${cases.join('\n')}
    esac
  fi
  if [[ -n $machine && $cur != -* ]]; then
    words="$words $extra $(_ingot_machines)"
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _ingot ingot
`;
}

/** The zsh completion script: the bash one through zsh's bashcompinit. */
export function zshScript(): string {
  return `# ingot shell completion for zsh: source <(ingot completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashScript()}`;
}

/** `ingot completion bash|zsh`. */
export function completion(argv: string[], out: (text: string) => void): number {
  const [shell, ...rest] = argv;
  if (rest.length > 0 || (shell !== 'bash' && shell !== 'zsh'))
    throw new UsageError('usage: ingot completion bash|zsh');
  out(shell === 'bash' ? bashScript() : zshScript());
  return 0;
}

/**
 * `ingot __complete machines`: machine ids and hostnames, one a line, for the completion script.
 * Silent and successful when the controller cannot be asked: completion must never print errors.
 */
export async function completeWords(
  argv: string[],
  client: ClientOptions,
  out: (text: string) => void,
): Promise<number> {
  if (argv[0] !== 'machines') return 0;
  try {
    const list = await Promise.race([
      call(client, 'GET', '/api/v1/machines'),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2000).unref()),
    ]);
    const words = new Set<string>();
    for (const m of Array.isArray(list) ? (list as unknown[]) : []) {
      if (typeof m !== 'object' || m === null) continue;
      for (const k of ['id', 'hostname']) {
        const v = (m as Record<string, unknown>)[k];
        if (typeof v === 'string' && /^[\w.:-]+$/.test(v)) words.add(v);
      }
    }
    out([...words].map((w) => `${w}\n`).join(''));
  } catch {
    // No controller, no key: nothing to offer.
  }
  return 0;
}
