/** What replaces a secret value in text. */
export const REDACTED = '***';

/**
 * Replaces every occurrence of a secret parameter's value in `text` with `***`. A last line of
 * defence: drivers should never echo secrets, but a tool's error output (ipmitool with `-P`,
 * a URL with credentials) sometimes does.
 */
export function redactSecrets(
  text: string,
  params: unknown,
  secretFields: readonly string[],
): string {
  if (typeof params !== 'object' || params === null) return text;
  let result = text;
  for (const field of secretFields) {
    const value: unknown = Reflect.get(params, field);
    // Very short values would redact ordinary words; those secrets are worthless anyway.
    if (typeof value === 'string' && value.length >= 3) {
      result = result.split(value).join(REDACTED);
    }
  }
  return result;
}
