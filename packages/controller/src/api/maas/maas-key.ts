/**
 * MAAS API keys over Ingot's. A MAAS key is `consumer_key:token_key:token_secret`; Ingot's is
 * `ingot_<id>_<secret>`. The MAAS form of an Ingot key is `<id>:<id>:<secret>`, so it is the same
 * key: one record, one stored hash, and revoking the Ingot key revokes the MAAS key.
 */

const INGOT_KEY = /^ingot_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** The MAAS form of an Ingot API key, or undefined when `key` is not one. */
export function maasKeyOf(key: string): string | undefined {
  const m = INGOT_KEY.exec(key);
  if (m === null) return undefined;
  const [, id, secret] = m;
  return `${id ?? ''}:${id ?? ''}:${secret ?? ''}`;
}

/**
 * The Ingot API key a MAAS credential triple stands for, or undefined when the triple cannot be
 * one (the consumer key and the token key are both the Ingot key's id, and MAAS's consumer secret
 * is empty).
 */
export function ingotKeyOf(triple: {
  readonly consumerKey: string;
  readonly token: string;
  readonly consumerSecret: string;
  readonly tokenSecret: string;
}): string | undefined {
  if (triple.consumerKey !== triple.token || triple.consumerSecret !== '') return undefined;
  const key = `ingot_${triple.token}_${triple.tokenSecret}`;
  return INGOT_KEY.test(key) ? key : undefined;
}
