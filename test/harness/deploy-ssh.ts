/** SSH into a deployed lab machine from inside the lab namespace, with the operator's key. */
import { execFile } from 'node:child_process';
import type { DeploySite } from './deploy-lab.ts';

/**
 * Runs `command` on the machine at `ip` as Debian's cloud-init default user (`debian`), whose
 * authorized keys cloud-init filled from the metadata service. Retries while sshd comes up
 * (cloud-init marks the machine deployed before the boot finishes), bounded by `timeoutMs`.
 * Resolves with the command's output; rejects with the last error.
 */
export async function sshIntoDeployed(
  site: DeploySite,
  ip: string | undefined,
  command: string,
  timeoutMs = 300_000,
): Promise<string> {
  if (ip === undefined) throw new Error('no address for the machine (no dhcp.ack event)');
  const args = [
    ...['netns', 'exec', site.namespace, 'ssh', '-i', site.sshPrivateKey],
    ...['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null'],
    ...['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR'],
    `debian@${ip}`,
    command,
  ];
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let attempt = 0; Date.now() < deadline && attempt < 200; attempt++) {
    const result = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile('ip', args, { timeout: 30_000 }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : 1, output: `${stdout}${stderr}` });
      });
    });
    if (result.code === 0) return result.output;
    last = result.output.trim();
    await new Promise((r) => setTimeout(r, 3000));
  }
  throw new Error(`ssh debian@${ip} failed until the deadline: ${last}`);
}
