/**
 * Entry point of the simulator process ({@link runEngine}); the parent starts it inside the
 * fleet namespace and sends the config as the first stdin line.
 */
import { createInterface } from 'node:readline';
import { runEngine, type EngineConfig } from './engine.ts';

const rl = createInterface({ input: process.stdin });
const first = await new Promise<string>((resolve, reject) => {
  rl.once('line', resolve);
  rl.once('close', () => reject(new Error('no config on stdin')));
});
rl.close();
await runEngine(JSON.parse(first) as EngineConfig);
process.exit(0);
