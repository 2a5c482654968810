/**
 * Users' SSH keys: a user adds, lists and removes their own; deployments install the owner's
 * (metadata `public-keys`, install config `ssh_keys`). Keys are checked as OpenSSH public keys
 * and known by their SHA-256 fingerprint, one per fingerprint per user.
 */
import { createHash } from 'node:crypto';
import { err, ok, type Clock, type Result } from '@ingot/common';
import type { DomainError } from '../domain/errors.ts';
import {
  decodeSshPublicKey,
  encodeSshPublicKey,
  formatFingerprint,
  type SshKey,
} from '../domain/ssh-key.ts';
import type { Actor } from './actor.ts';
import { newAuditEvent } from './audit-event.ts';
import { shortId } from './ids.ts';
import type { EventBus, Store } from './ports.ts';

/** Dependencies of {@link SshKeyService}. */
export interface SshKeyServiceDeps {
  readonly store: Store;
  readonly bus: EventBus;
  readonly clock: Clock;
}

/** Only signed-in users have keys. */
function userOf(actor: Actor): Result<string, DomainError> {
  return actor.kind === 'user'
    ? ok(actor.user.id)
    : err({ kind: 'forbidden', detail: 'only users have SSH keys' });
}

/** The SSH key use cases. */
export class SshKeyService {
  readonly #d: SshKeyServiceDeps;

  constructor(deps: SshKeyServiceDeps) {
    this.#d = deps;
  }

  /** The actor's keys, oldest first. */
  async list(actor: Actor): Promise<Result<SshKey[], DomainError>> {
    const user = userOf(actor);
    if (!user.ok) return user;
    return ok(await this.#d.store.listSshKeys(user.value));
  }

  /** Keys of `userId` as `authorized_keys` lines (for machines that user owns). */
  async linesFor(userId: string | null): Promise<string[]> {
    if (userId === null) return [];
    return (await this.#d.store.listSshKeys(userId)).map((k) => k.key);
  }

  /** Adds a key (one OpenSSH public key line) to the actor's account. */
  async add(actor: Actor, line: string): Promise<Result<SshKey, DomainError>> {
    const user = userOf(actor);
    if (!user.ok) return user;
    const decoded = decodeSshPublicKey(line);
    if (!decoded.ok) return err({ kind: 'invalid', field: 'key', detail: decoded.error.detail });
    const now = this.#d.clock.now();
    const key: SshKey = {
      id: shortId(10),
      userId: user.value,
      key: encodeSshPublicKey(decoded.value),
      fingerprint: formatFingerprint(createHash('sha256').update(decoded.value.blob).digest()),
      comment: decoded.value.comment,
      createdAtMs: now,
    };
    const stored = await this.#d.store.transaction(async (tx) => {
      if (!(await tx.insertSshKey(key))) return undefined;
      return tx.appendEvents(
        [
          newAuditEvent(
            actor,
            'user.ssh-key.add',
            `Added SSH key ${key.fingerprint}${key.comment === '' ? '' : ` (${key.comment})`}`,
            now,
            { data: { fingerprint: key.fingerprint, type: decoded.value.type } },
          ),
        ],
        now,
      );
    });
    if (stored === undefined)
      return err({ kind: 'conflict', detail: `you already have key ${key.fingerprint}` });
    this.#d.bus.publish(stored);
    return ok(key);
  }

  /** Removes one of the actor's keys. */
  async remove(actor: Actor, id: string): Promise<Result<SshKey, DomainError>> {
    const user = userOf(actor);
    if (!user.ok) return user;
    const now = this.#d.clock.now();
    const result = await this.#d.store.transaction(async (tx) => {
      const removed = await tx.deleteSshKey(user.value, id);
      if (removed === undefined) return undefined;
      const events = await tx.appendEvents(
        [
          newAuditEvent(
            actor,
            'user.ssh-key.remove',
            `Removed SSH key ${removed.fingerprint}`,
            now,
            {
              data: { fingerprint: removed.fingerprint },
            },
          ),
        ],
        now,
      );
      return { removed, events };
    });
    if (result === undefined) return err({ kind: 'not-found', entity: 'ssh-key', id });
    this.#d.bus.publish(result.events);
    return ok(result.removed);
  }
}
