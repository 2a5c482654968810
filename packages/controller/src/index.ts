export { startController, type ControllerConfig, type ControllerHandle } from './controller.ts';
export { MACHINE_STATUSES, type MachineStatus } from './domain/machine/lifecycle.ts';
