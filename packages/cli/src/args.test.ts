import { describe, expect, it } from 'vitest';
import { envName, withEnvFlags } from './args.ts';
import { agentFlags, controllerFlags } from './servers.ts';

describe('withEnvFlags', () => {
  it('adds INGOT_<FLAG> values for flags the command line does not give', () => {
    expect(
      withEnvFlags(['--data', '/srv/ingot'], controllerFlags, {
        INGOT_DATA: '/ignored',
        INGOT_DEPLOY_TIMEOUT: '45m',
        INGOT_HTTP: '',
        INGOT_LOG_LEVEL: ' debug ',
      }),
    ).toEqual(['--data', '/srv/ingot', '--deploy-timeout', '45m', '--log-level', 'debug']);
  });

  it('splits repeated flags on spaces and commas', () => {
    expect(
      withEnvFlags([], agentFlags, {
        INGOT_CONTROLLER: 'ctl1:5250, ctl2:5250',
        INGOT_INTERFACE: 'eth1 eth2',
      }),
    ).toEqual([
      ...['--controller', 'ctl1:5250', '--controller', 'ctl2:5250'],
      ...['--interface', 'eth1', '--interface', 'eth2'],
    ]);
  });

  it('takes booleans as 1/true/yes', () => {
    const flags = { wait: { type: 'boolean' }, x: { type: 'boolean' } } as const;
    expect(withEnvFlags([], flags, { INGOT_WAIT: 'yes', INGOT_X: 'no' })).toEqual(['--wait']);
  });

  it('names every agent and controller flag', () => {
    expect(Object.keys(agentFlags).map(envName)).toContain('INGOT_IMAGE_CACHE_SIZE');
    expect(Object.keys(controllerFlags).map(envName)).toContain('INGOT_HEARTBEAT_INTERVAL');
  });
});
