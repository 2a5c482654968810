/**
 * The rack agent's public API, for the CLI (`ingot agent …`) and tests. The agent talks to the
 * controller only through `@ingot/proto`; nothing here exposes generated proto types.
 */
export {
  startAgent,
  AgentStartError,
  type AgentDeps,
  type AgentHandle,
  type AgentStartErrorKind,
} from './agent.ts';
export {
  defaultAgentConfig,
  validateAgentConfig,
  parseHostPort,
  splitAddressList,
  orderedHttpUrls,
  AGENT_VERSION,
  DEFAULT_HTTP_PORT,
  DEFAULT_CONTROLLER_PORT,
  type AgentConfig,
  type AgentConfigInput,
  type ConfigError,
  type HostPort,
} from './config.ts';
export type { SessionStatus } from './rpc/session-client.ts';
export {
  fetchPinnedCa,
  newRackKey,
  parseEnrollmentToken,
  publicKeyPin,
  rackCredentials,
  type RackTls,
} from './rpc/rack-tls.ts';
export type { AgentStore, AppliedCommand } from './state/agent-store.ts';
export type { EventRecorder, NewLeaseEvent, NewStatusEvent } from './events/event-recorder.ts';
export type { EnrollError } from './rpc/enroll.ts';
export {
  canSetBootDevice,
  FATAL_POWER_ERROR_KINDS,
  type BootDevice,
  type BootDeviceOptions,
  type PowerActionContext,
  type PowerActionOutcome,
  type PowerDriver,
  type PowerError,
  type PowerErrorKind,
  type PowerState,
  type PowerTarget,
} from './power/driver.ts';
export { createManualPowerDriver, type ManualPowerParams } from './power/drivers/manual.ts';
export { createPowerRegistry, type PowerRegistry } from './power/registry.ts';
export type { SetPowerOptions } from './power/set-power.ts';
export type { BootPlan, BootFile, BootPurpose } from './domain/boot-plan.ts';
export type {
  NetworkConfig,
  Subnet,
  Reservation,
  IpRange,
  DhcpMode,
} from './domain/network-config.ts';
export type {
  StatusEvent,
  LeaseEvent,
  LeaseAction,
  OutboxEntry,
  OutboxRecord,
} from './domain/events.ts';
export type { RackIdentity, AgentInterface } from './domain/identity.ts';
export { parseMacAddress, type MacAddress } from './domain/mac-address.ts';
export { createBootResolver, type BootResolverConfig } from './boot/boot-resolver.ts';
export { createBootEventSink, ignoreBootFetches, type BootFetch } from './boot/boot-events.ts';
export type { BootResolver, BootRequest, ResolvedBootFile, BootError } from './boot/resolver.ts';
export { createHttpApp, startHttpServer, type HttpServerHandle } from './http/http-server.ts';
export { createHttpBootApi } from './http-boot/http-boot-api.ts';
export { createTftpServer, type TftpServerHandle, type TftpTransferReport } from './tftp/server.ts';
export { createUdpTransport } from './tftp/udp-transport.ts';
