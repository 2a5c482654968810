/**
 * @ingot/fleet-sim — simulated bare-metal machines that PXE-boot, install and report through one
 * real rack agent, at scale. See /work/coord/s2/fleet-api.md and README.md.
 */
export {
  createFleetNetwork,
  FLEET_SUBNET,
  FLEET_AGENT_ADDRESS,
  FLEET_SIM_ADDRESS,
  type FleetNetwork,
} from './network.ts';
export {
  startFleet,
  type Fleet,
  type FleetOptions,
  type FleetMachine,
  type DeployOutcome,
} from './fleet.ts';
export type { ControllerRef } from './api-client.ts';
export type { AgentRuntime, FleetAgent } from './agent.ts';
export type { MachineTrace } from './machine.ts';
export { REAL_INSTALLER_RETRIES, type InstallerRetries } from './installer.ts';
export { DEFAULT_IMAGE_SIZES, type ImageSizes } from './images.ts';
