import type { NetworkConfig } from '../domain/network-config.ts';
import { assertNever, type Logger } from '@ingot/common';
import type { BootFile } from '../domain/boot-plan.ts';
import type { AgentCommand, AppliedResult, PowerReport } from '../domain/commands.ts';
import { runPowerCommand, type PowerCommandDeps } from '../power/power-command.ts';
import type { AgentStore } from '../state/agent-store.ts';

/** What handling a command produced. */
export type CommandOutcome =
  /** Applied now (`fresh`) or earlier (`duplicate`, answered from the store). */
  | {
      readonly status: 'applied' | 'duplicate';
      readonly commandId: string;
      readonly result: AppliedResult;
    }
  /** The agent is shutting down mid-command: nothing recorded, the controller will resend. */
  | { readonly status: 'aborted'; readonly commandId: string };

/**
 * Applies controller commands exactly once per id (DESIGN.md §4). State commands are applied
 * and recorded in one transaction, so a crash cannot leave one without the other. Power
 * commands touch the outside world first and record after: a crash in between means one
 * repeated BMC call, which on/off/cycle tolerate.
 */
export interface CommandHandler {
  /**
   * Applies `command` unless its id was applied before (then the stored result comes back and
   * nothing is touched). A duplicate arriving while the first is still running (a re-sent power
   * command after a reconnect) waits for that same run.
   */
  handle(command: AgentCommand): Promise<CommandOutcome>;
  /** Resolves when no command is running; for shutdown. */
  idle(): Promise<void>;
}

/** What a {@link CommandHandler} needs. `signal` is the agent's lifetime. */
export interface CommandHandlerDeps extends Omit<PowerCommandDeps, 'logger'> {
  readonly store: AgentStore;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Told when the controller sets (or, with an empty driver, removes) a machine's BMC access. */
  readonly onPowerConfig?:
    ((machineId: string, driver: string, params: unknown) => void) | undefined;
  /** Told after a new network config is stored (DHCP reloads its subnets). */
  readonly onNetworkConfig?: ((config: NetworkConfig) => void) | undefined;
  /**
   * Told which image files to fetch into the cache: a new boot plan's, or a Prefetch command's.
   * Must return at once (fetching runs in the background). Without it, Prefetch is ignored.
   */
  readonly onPrefetch?: ((files: readonly BootFile[], forMachine?: string) => void) | undefined;
}

/** Creates the agent's {@link CommandHandler}. */
export function createCommandHandler(deps: CommandHandlerDeps): CommandHandler {
  const running = new Map<string, Promise<CommandOutcome>>();
  const { store, logger } = deps;

  const applyState = (command: Exclude<AgentCommand, { kind: 'power' }>): AppliedResult => {
    switch (command.kind) {
      case 'network-config':
        store.saveNetworkConfig(command.config);
        deps.onNetworkConfig?.(command.config);
        return { kind: 'network-config', detail: `version ${command.config.version}` };
      case 'boot-plan': {
        const saved = store.saveBootPlan(command.plan);
        if (saved === 'stale') {
          logger.info('ignored an older boot plan', {
            machine_id: command.plan.machineId,
            version: command.plan.version,
          });
        } else if (command.plan.files.length > 0) {
          // Fetch now, so the machine's boot finds its files cached.
          deps.onPrefetch?.(command.plan.files, command.plan.machineId);
        }
        return { kind: 'boot-plan', detail: saved };
      }
      case 'remove-boot-plan': {
        const removed = store.removeBootPlan(command.machineId);
        return { kind: 'remove-boot-plan', detail: removed ? 'removed' : 'absent' };
      }
      case 'prefetch':
        if (deps.onPrefetch === undefined) {
          logger.warn('image prefetch requested but this agent has no image cache', {
            files: command.files.length,
          });
          return { kind: 'prefetch', detail: 'no image cache on this agent; ignored' };
        }
        deps.onPrefetch(command.files);
        return { kind: 'prefetch', detail: `fetching ${command.files.length} file(s)` };
      case 'power-config':
        // Kept in memory by the poller only: BMC secrets never rest on the rack's disk.
        deps.onPowerConfig?.(command.machineId, command.driver, command.params);
        return {
          kind: 'power-config',
          detail: command.driver === '' ? 'polling stopped' : `polling with ${command.driver}`,
        };
      default:
        return assertNever(command, 'command');
    }
  };

  const applyPower = async (
    command: Extract<AgentCommand, { kind: 'power' }>,
  ): Promise<CommandOutcome> => {
    const { request } = command;
    const plan = store.bootPlan(request.machineId);
    const hostname =
      plan?.hostname !== undefined && plan.hostname !== '' ? plan.hostname : request.machineId;
    const report: PowerReport = await runPowerCommand(
      deps,
      request,
      { machineId: request.machineId, hostname },
      deps.signal,
    );
    // An interrupted action is not "applied": let the controller's resend run it again.
    if (deps.signal.aborted) return { status: 'aborted', commandId: command.id };
    const result: AppliedResult = { kind: 'power', report };
    store.recordAppliedCommand(command.id, result);
    return { status: 'applied', commandId: command.id, result };
  };

  const apply = async (command: AgentCommand): Promise<CommandOutcome> => {
    if (command.kind === 'power') return applyPower(command);
    const result = store.transaction(() => {
      const applied = applyState(command);
      store.recordAppliedCommand(command.id, applied);
      return applied;
    });
    return { status: 'applied', commandId: command.id, result };
  };

  return {
    handle(command) {
      const previous = store.appliedCommand(command.id);
      if (previous !== undefined) {
        logger.debug('duplicate command answered from the store', { commandId: command.id });
        return Promise.resolve({
          status: 'duplicate',
          commandId: command.id,
          result: previous.result,
        });
      }
      const inProgress = running.get(command.id);
      if (inProgress !== undefined) return inProgress;
      const promise = apply(command).finally(() => running.delete(command.id));
      running.set(command.id, promise);
      return promise;
    },
    async idle() {
      await Promise.allSettled([...running.values()]);
    },
  };
}
