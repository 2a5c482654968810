/**
 * A MAC address in canonical form: six lower-case hex octets separated by colons
 * (`52:54:00:12:34:56`). Branded so that raw user input cannot be compared with it by mistake.
 */
export type MacAddress = string & { readonly __brand: 'MacAddress' };

const MAC_PATTERN =
  /^([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})$/;

/**
 * Parses a MAC written with `:` or `-` separators (or none), in any case. Returns `undefined`
 * for anything else. Firmware and operators disagree on the format, so we accept all three.
 */
export function parseMacAddress(text: string): MacAddress | undefined {
  const match = MAC_PATTERN.exec(text.trim().toLowerCase());
  if (match === null) return undefined;
  return match.slice(1, 7).join(':') as MacAddress;
}
