/**
 * Reporting events: what cloud-init's webhook reporter and Ingot's installer POST to
 * `/MAAS/metadata/status/<machine_id>` (docs/deploy-contract.md "Reporting event"), and how each
 * becomes an Ingot step event and, sometimes, a lifecycle action. Pure.
 */
import type { StepResult } from '@ingot/common';

/**
 * What a client-chosen report id may be (deploy-contract.md "Report ids"): 1–128 characters of
 * `A–Z a–z 0–9 . _ : -` (a UUID fits). Longer or other characters are refused with a 400.
 */
export const REPORT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** A reporting event as posted (already validated). */
export interface ReportingEvent {
  /**
   * The client's id of this report ({@link REPORT_ID_PATTERN}), the same on every retry of it:
   * a second report with an id already stored for the machine changes nothing. Absent (cloud-init's
   * webhook reporter): every report is stored.
   */
  readonly id?: string | undefined;
  readonly eventType: 'start' | 'finish';
  readonly origin: string;
  /** The step, e.g. `install.storage` or cloud-init's `init-network/config-ssh`. */
  readonly name: string;
  readonly description: string;
  /** `finish` only. */
  readonly result?: 'SUCCESS' | 'FAIL' | 'WARN' | undefined;
  /** Seconds since the epoch, by the machine's clock. */
  readonly timestamp?: number | undefined;
  /** Bytes done of bytes total, for long steps (image download). */
  readonly progress?: { readonly done: number; readonly total: number } | undefined;
}

/** How big a log tail an event keeps. */
export const LOG_TAIL_BYTES = 4096;

/**
 * `start` → `started`; `finish` + `SUCCESS` → `succeeded`; `FAIL` → `failed`; `WARN` → `info`.
 * A `finish` without a result says nothing about success: `info`.
 */
export function stepResultOf(e: Pick<ReportingEvent, 'eventType' | 'result'>): StepResult {
  if (e.eventType === 'start') return 'started';
  switch (e.result) {
    case 'SUCCESS':
      return 'succeeded';
    case 'FAIL':
      return 'failed';
    case 'WARN':
    case undefined:
      return 'info';
  }
}

const REDACTED = '<redacted>';

/**
 * Hides secrets in text a machine sent (a log, a description): every string in `secrets`
 * verbatim, and whatever follows `ingot.token=` (the kernel command line), `oauth_signature=`,
 * or a `password`/`token_secret`/`consumer_secret` key.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 8) out = out.split(secret).join(REDACTED);
  return out
    .replace(/(ingot\.token=)\S+/g, `$1${REDACTED}`)
    .replace(/(oauth_signature=)("[^"]*"|[^\s,]+)/gi, `$1${REDACTED}`)
    .replace(
      /\b(token_secret|consumer_secret|password|passwd)(["']?\s*[:=]\s*["']?)[^\s"',}]+/gi,
      `$1$2${REDACTED}`,
    );
}

/**
 * The last {@link LOG_TAIL_BYTES} bytes (UTF-8) of a log, secrets redacted first (so none is cut
 * in half and left readable). A character split by the cut is dropped.
 */
export function logTail(text: string, secrets: readonly string[]): string {
  const bytes = new TextEncoder().encode(redactSecrets(text, secrets));
  if (bytes.length <= LOG_TAIL_BYTES) return new TextDecoder().decode(bytes);
  let start = bytes.length - LOG_TAIL_BYTES;
  // Skip UTF-8 continuation bytes (10xxxxxx) so the tail starts on a character.
  while (start < bytes.length && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++;
  return new TextDecoder().decode(bytes.subarray(start));
}
