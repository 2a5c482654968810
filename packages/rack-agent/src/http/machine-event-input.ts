import { err, ok, STEP_RESULTS, type Result, type StepResult } from '@ingot/common';
import { parseMacAddress, type MacAddress } from '../domain/mac-address.ts';

/** A validated `POST /api/v1/machine-events` body. */
export interface MachineEventInput {
  readonly machineId?: string;
  readonly mac?: MacAddress;
  readonly step: string;
  readonly result: StepResult;
  readonly message: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** Why a body was refused; `detail` is safe to show the client. */
export interface InvalidInput {
  readonly kind: 'invalid-input';
  readonly detail: string;
}

const ALLOWED_KEYS = new Set(['machine_id', 'mac', 'step', 'result', 'message', 'data']);
/** Dotted lower-case names like `install.image`; the controller's timeline keys on them. */
const STEP_PATTERN = /^[a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)*$/;
const MAX_STEP_LENGTH = 64;
const MAX_ID_LENGTH = 128;
const MAX_MESSAGE_LENGTH = 4096;

/**
 * Validates a machine event strictly: unknown fields, wrong types and missing identification
 * are refused, because the client is either our own boot environment (then it is a bug we want
 * to see) or something that should not be posting here.
 */
export function parseMachineEventInput(body: unknown): Result<MachineEventInput, InvalidInput> {
  const invalid = (detail: string): Result<MachineEventInput, InvalidInput> =>
    err({ kind: 'invalid-input', detail });
  if (!isPlainObject(body)) return invalid('body must be a JSON object');
  for (const key of Object.keys(body)) {
    if (!ALLOWED_KEYS.has(key)) return invalid(`unknown field "${key}"`);
  }
  const { machine_id: machineId, mac, step, result, message, data } = body;

  if (
    machineId !== undefined &&
    (typeof machineId !== 'string' || machineId === '' || machineId.length > MAX_ID_LENGTH)
  ) {
    return invalid(`machine_id must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
  let parsedMac: MacAddress | undefined;
  if (mac !== undefined) {
    parsedMac = typeof mac === 'string' ? parseMacAddress(mac) : undefined;
    if (parsedMac === undefined) return invalid('mac must be a MAC address like 52:54:00:12:34:56');
  }
  if (machineId === undefined && parsedMac === undefined) {
    return invalid('one of machine_id or mac is required');
  }
  if (typeof step !== 'string' || step.length > MAX_STEP_LENGTH || !STEP_PATTERN.test(step)) {
    return invalid('step must be a dotted lower-case name like "boot.kernel"');
  }
  const knownResult = STEP_RESULTS.find((candidate) => candidate === result);
  if (knownResult === undefined) return invalid(`result must be one of ${STEP_RESULTS.join(', ')}`);
  if (
    message !== undefined &&
    (typeof message !== 'string' || message.length > MAX_MESSAGE_LENGTH)
  ) {
    return invalid(`message must be a string of at most ${MAX_MESSAGE_LENGTH} characters`);
  }
  if (data !== undefined && !isPlainObject(data)) return invalid('data must be a JSON object');

  return ok({
    ...(machineId === undefined ? {} : { machineId }),
    ...(parsedMac === undefined ? {} : { mac: parsedMac }),
    step,
    result: knownResult,
    message: message ?? '',
    data: data ?? {},
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
