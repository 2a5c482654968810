export { startController, type ControllerConfig, type ControllerHandle } from './controller.ts';
export { MACHINE_STATUSES, type MachineStatus } from './domain/machine/lifecycle.ts';
export { openSqliteStore } from './store/sqlite.ts';
export { openPostgresStore } from './store/postgres.ts';
export type { Store, NewMachine } from './app/ports.ts';
export type { Machine } from './domain/machine/machine.ts';
