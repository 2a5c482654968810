/**
 * `ingot users set-password NAME [--password-stdin]`: sets a user's web UI sign-in password
 * (admins for anyone, users for themselves). The password is read from the first line of stdin
 * when it is not a terminal (or with `--password-stdin`), otherwise asked for twice without echo.
 * It never appears on the command line, where `ps` and shell history would show it.
 */
import { parse, UsageError } from './args.ts';
import { call, type ClientOptions } from './client.ts';

async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const b = chunk as Buffer;
    chunks.push(b);
    size += b.length;
    if (size > 64 * 1024) throw new UsageError('stdin: expected one line with the password');
  }
  return (Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '').trimEnd();
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error?: Error): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error === undefined) resolve(value);
      else reject(error);
    };
    const onData = (text: string): void => {
      for (const ch of text) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003' || ch === '\u0004') return finish(new UsageError('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.replace(/[\s\S]$/u, '');
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** Runs `users set-password`; resolves to the exit code. */
export async function setPassword(
  argv: string[],
  client: ClientOptions,
  out: (text: string) => void,
): Promise<number> {
  const { values, positionals } = parse(argv, { 'password-stdin': { type: 'boolean' } });
  const [username, ...extra] = positionals;
  if (username === undefined || extra.length > 0) {
    throw new UsageError('usage: users set-password NAME [--password-stdin]');
  }
  let password: string;
  if (values['password-stdin'] === true || !process.stdin.isTTY) {
    password = await readStdinLine();
  } else {
    password = await promptHidden(`New password for ${username}: `);
    if ((await promptHidden('Again: ')) !== password) {
      throw new UsageError('the two passwords differ; nothing was changed');
    }
  }
  if (password.length === 0) throw new UsageError('empty password; nothing was changed');
  await call(client, 'PUT', `/api/v1/users/${encodeURIComponent(username)}/password`, {
    password,
  });
  out(`Password set for ${username}; they can sign in to the web UI at ${client.url}/\n`);
  return 0;
}
