/**
 * Splits addresses given as `host:port,host:port` (and repeated flags) into a list, dropping
 * empty entries and duplicates, keeping the order.
 */
export function splitAddressList(values: readonly string[]): string[] {
  const all = values.flatMap((v) => v.split(',')).map((v) => v.trim());
  return [...new Set(all.filter((v) => v !== ''))];
}
