/**
 * `ingot users api-key [--maas] [--name NAME]`: mints another API key for the signed-in user and
 * prints it once. With `--maas`, in MAAS's `consumer_key:token_key:token_secret` form, for Juju,
 * Terraform's MAAS provider, python-libmaas or `maas login` against `/MAAS/api/2.0/`
 * (packages/controller/docs/maas-api.md). Either form is the same key.
 */
import { parse } from './args.ts';
import { call, type ClientOptions } from './client.ts';

function text(value: unknown, key: string): string {
  const v =
    typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)[key]
      : undefined;
  if (typeof v !== 'string') throw new Error(`the controller's answer has no ${key}`);
  return v;
}

/** Runs the command; resolves to the exit code. */
export async function apiKey(
  argv: string[],
  client: ClientOptions,
  json: boolean,
  out: (text: string) => void,
): Promise<number> {
  const { values } = parse(argv, { maas: { type: 'boolean' }, name: { type: 'string' } });
  const created = await call(client, 'POST', '/api/v1/users/me/api-keys', {
    name: values.name ?? (values.maas === true ? 'maas' : 'api'),
  });
  if (json) out(`${JSON.stringify(created, null, 2)}\n`);
  else out(`${text(created, values.maas === true ? 'maas_api_key' : 'api_key')}\n`);
  return 0;
}
