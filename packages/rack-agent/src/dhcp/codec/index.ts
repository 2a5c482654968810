/** The DHCPv4 codec's public surface: pure functions and types, no I/O (STYLE.md §0 rule 1). */
export * from './message.ts';
export * from './options.ts';
export * from './ipv4.ts';
export type { DecodeError } from './errors.ts';
