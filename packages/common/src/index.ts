export { ok, err, assertNever, type Result } from './result.ts';
export { systemClock, FakeClock, type Clock } from './clock.ts';
export {
  createJsonLogger,
  silentLogger,
  LOG_LEVELS,
  type Logger,
  type LogFields,
  type LogLevel,
} from './logger.ts';
export { STEP_RESULTS, BOOT_FETCH_STEPS, type StepResult, type BootFetchStep } from './events.ts';
export { MACHINE_STATUSES, type MachineStatus } from './machine-status.ts';
export { splitAddressList } from './address-list.ts';
export { isProcessPid, parsePidFile } from './pid.ts';
export { freePort } from './free-port.ts';
