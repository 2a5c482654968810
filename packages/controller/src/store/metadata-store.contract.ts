/**
 * The metadata part of the `Store` contract: users' SSH keys, machines' metadata tokens and the
 * hardware commissioning recorded.
 */
import { describe, expect, it } from 'vitest';
import type { SshKey } from '../domain/ssh-key.ts';
import { newMachine, newUser } from '../testing/index.ts';
import { describeStoreContract, T0, type OpenStore } from './store-contract-fixtures.ts';

function sshKey(userId: string, overrides: Partial<SshKey> = {}): SshKey {
  return {
    id: 'key-1',
    userId,
    key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDytlBXw9pzyCvkBJlwgJZpG6llhPU1u/8LKYDtZe47b a@b',
    fingerprint: 'SHA256:FtpvILgy5tEvbxFTfWM7/9zTMmhGo5xj9fMMEy36dfE',
    comment: 'a@b',
    createdAtMs: T0,
    ...overrides,
  };
}

/** Registers this part of the `Store` contract for the store `open` returns. */
export function describeMetadataStoreContract(name: string, open: OpenStore): void {
  describeStoreContract(name, open, (store) => {
    describe('SSH keys', () => {
      it('stores keys per user, oldest first, one per fingerprint', async () => {
        const alice = newUser({ username: 'alice' });
        const bob = newUser({ username: 'bob' });
        await store().insertUser(alice);
        await store().insertUser(bob);
        const first = sshKey(alice.id);
        const second = sshKey(alice.id, {
          id: 'key-2',
          fingerprint: 'SHA256:x',
          createdAtMs: T0 + 1,
        });
        expect(await store().insertSshKey(second)).toBe(true);
        expect(await store().insertSshKey(first)).toBe(true);
        // Same fingerprint for the same user: refused; for another user: fine.
        expect(await store().insertSshKey(sshKey(alice.id, { id: 'key-3' }))).toBe(false);
        expect(await store().insertSshKey(sshKey(bob.id, { id: 'key-4' }))).toBe(true);
        expect(await store().listSshKeys(alice.id)).toEqual([first, second]);
        expect((await store().listSshKeys(bob.id)).map((k) => k.id)).toEqual(['key-4']);
      });

      it('deletes only the owner’s key', async () => {
        const alice = newUser({ username: 'alice' });
        const bob = newUser({ username: 'bob' });
        await store().insertUser(alice);
        await store().insertUser(bob);
        await store().insertSshKey(sshKey(alice.id));
        expect(await store().deleteSshKey(bob.id, 'key-1')).toBeUndefined();
        expect(await store().deleteSshKey(alice.id, 'key-1')).toEqual(sshKey(alice.id));
        expect(await store().deleteSshKey(alice.id, 'key-1')).toBeUndefined();
        expect(await store().listSshKeys(alice.id)).toEqual([]);
      });
    });

    describe('metadata tokens', () => {
      it('keeps one token per machine: a new one replaces the old', async () => {
        const m = newMachine();
        await store().insertMachine(m);
        const first = {
          machineId: m.id,
          consumerKey: 'c'.repeat(24),
          tokenKey: 'k'.repeat(24),
          secretHash: 'ab'.repeat(32),
          issuedAtMs: T0,
        };
        await store().putMetadataToken(first);
        expect(await store().getMetadataToken('k'.repeat(24))).toEqual(first);
        const second = { ...first, tokenKey: 'j'.repeat(24), issuedAtMs: T0 + 1 };
        await store().putMetadataToken(second);
        expect(await store().getMetadataToken('k'.repeat(24))).toBeUndefined();
        expect(await store().getMetadataToken('j'.repeat(24))).toEqual(second);
        expect(await store().deleteMetadataToken(m.id)).toBe(true);
        expect(await store().getMetadataToken('j'.repeat(24))).toBeUndefined();
        expect(await store().deleteMetadataToken(m.id)).toBe(false);
      });

      it('token keys are unique across machines', async () => {
        const [a, b] = [newMachine(), newMachine()];
        await store().insertMachine(a);
        await store().insertMachine(b);
        const token = {
          machineId: a.id,
          consumerKey: 'c'.repeat(24),
          tokenKey: 'k'.repeat(24),
          secretHash: 'ab'.repeat(32),
          issuedAtMs: T0,
        };
        await store().putMetadataToken(token);
        await expect(store().putMetadataToken({ ...token, machineId: b.id })).rejects.toThrow();
      });
    });

    describe('cascades', () => {
      it('deleting a machine deletes its token and hardware', async () => {
        const m = newMachine();
        await store().insertMachine(m);
        await store().putMetadataToken({
          machineId: m.id,
          consumerKey: 'c'.repeat(24),
          tokenKey: 'k'.repeat(24),
          secretHash: 'ab'.repeat(32),
          issuedAtMs: T0,
        });
        await store().putMachineHardware({
          machineId: m.id,
          disks: [],
          nics: [],
          recordedAtMs: T0,
        });
        await store().deleteMachine(m.id);
        expect(await store().getMetadataToken('k'.repeat(24))).toBeUndefined();
        expect(await store().getMachineHardware(m.id)).toBeUndefined();
      });
    });

    describe('machine hardware', () => {
      it('records disks and NICs, replacing what was there', async () => {
        const m = newMachine();
        await store().insertMachine(m);
        expect(await store().getMachineHardware(m.id)).toBeUndefined();
        const first = {
          machineId: m.id,
          disks: [{ name: 'vda', sizeBytes: 10 * 2 ** 30, model: 'QEMU', serial: 's1' }],
          nics: [{ name: 'eth0', mac: '52:54:00:12:34:56' }],
          recordedAtMs: T0,
        };
        await store().putMachineHardware(first);
        expect(await store().getMachineHardware(m.id)).toEqual(first);
        const second = { ...first, disks: [], recordedAtMs: T0 + 5 };
        await store().putMachineHardware(second);
        expect(await store().getMachineHardware(m.id)).toEqual(second);
      });
    });
  });
}
