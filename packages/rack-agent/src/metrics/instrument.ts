/**
 * Wrappers that count what passes through an interface without changing it: power drivers (every
 * BMC call) and the image source HTTP boot and TFTP read (`images/<sha256>` hits and misses).
 */
import type { Result } from '@ingot/common';
import type { ImageFileSource } from '../boot/file-routes.ts';
import type { PowerDriver, PowerError } from '../power/driver.ts';
import type { AgentMetrics } from './agent-metrics.ts';

/**
 * A driver that behaves exactly like `driver` and counts each call as
 * `ingot_power_driver_calls_total{driver,action,result}`: result `ok`, or the error's kind. A driver
 * that throws (a bug) is counted as `error` and the error goes on.
 */
export function instrumentPowerDriver<P>(
  driver: PowerDriver<P>,
  metrics: Pick<AgentMetrics, 'powerDriverCall'>,
): PowerDriver<P> {
  const counted = async <T>(
    action: string,
    call: () => Promise<Result<T, PowerError>>,
  ): Promise<Result<T, PowerError>> => {
    let result: Result<T, PowerError>;
    try {
      result = await call();
    } catch (error: unknown) {
      metrics.powerDriverCall(driver.type, action, 'error');
      throw error;
    }
    metrics.powerDriverCall(driver.type, action, result.ok ? 'ok' : result.error.kind);
    return result;
  };
  const wrapped: PowerDriver<P> = {
    type: driver.type,
    secretFields: driver.secretFields,
    parseParams: (raw) => driver.parseParams(raw),
    on: (params, context) => counted('on', () => driver.on(params, context)),
    off: (params, context) => counted('off', () => driver.off(params, context)),
    cycle: (params, context) => counted('cycle', () => driver.cycle(params, context)),
    query: (params, context) => counted('query', () => driver.query(params, context)),
  };
  const setBootDevice = driver.setBootDevice?.bind(driver);
  // The optional capability stays optional: callers still see whether the driver has it.
  if (setBootDevice === undefined) return wrapped;
  return {
    ...wrapped,
    setBootDevice: (params, device, options, context) =>
      counted('set_boot_device', () => setBootDevice(params, device, options, context)),
  };
}

/**
 * An image source that counts each lookup by a machine's request as a cache hit or miss. Only
 * `lookup` is counted: it is what serving `images/<sha256>` asks first; a miss may then fetch.
 */
export function instrumentImageSource(
  source: ImageFileSource,
  metrics: Pick<AgentMetrics, 'imageCacheLookup'>,
): ImageFileSource {
  return {
    async lookup(sha256) {
      const path = await source.lookup(sha256);
      metrics.imageCacheLookup(path !== undefined);
      return path;
    },
    pinnedSize: (sha256) => source.pinnedSize(sha256),
    ensure: (sha256, sizeBytes) => source.ensure(sha256, sizeBytes),
  };
}
