/**
 * Users and API keys. A key is `ingot_<id>_<secret>`: the id finds the record, the secret is
 * checked against its stored SHA-256 hash. Keys are shown once, when created.
 */
import { err, ok, type Clock, type Result } from '@ingot/common';
import type { DomainError } from '../domain/errors.ts';
import type { Role, User } from '../domain/user.ts';
import type { Actor } from './actor.ts';
import { newAuditEvent } from './audit-event.ts';
import { hashSecret, newSecret, secretMatches, shortId, uuid } from './ids.ts';
import type { EventBus, Store } from './ports.ts';
import { isExpiredSession } from './session-key.ts';

const KEY_PATTERN = /^ingot_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** Dependencies of {@link UserService}. */
export interface UserServiceDeps {
  readonly store: Store;
  readonly bus: EventBus;
  readonly clock: Clock;
}

/** The user use cases. */
export class UserService {
  readonly #d: UserServiceDeps;

  constructor(deps: UserServiceDeps) {
    this.#d = deps;
  }

  /**
   * On first start, creates the `admin` user and returns its API key; afterwards returns
   * undefined (the key was written out then, and only its hash is kept).
   */
  async bootstrapAdmin(): Promise<string | undefined> {
    if ((await this.#d.store.countUsers()) > 0) return undefined;
    const created = await this.create({ kind: 'system' }, { username: 'admin', role: 'admin' });
    // Another controller on the same database made it between our count and our insert.
    if (!created.ok && created.error.kind === 'conflict') return undefined;
    if (!created.ok) throw new Error(`could not create the admin user: ${created.error.kind}`);
    return created.value.apiKey;
  }

  /** Creates a user with a first API key (admins only). */
  async create(
    actor: Actor,
    input: { username: string; role: Role },
  ): Promise<Result<{ user: User; apiKey: string }, DomainError>> {
    if (actor.kind === 'user' && actor.user.role !== 'admin') {
      return err({ kind: 'forbidden', detail: 'creating users needs the admin role' });
    }
    if (!/^[a-z][a-z0-9._-]{0,62}$/.test(input.username)) {
      return err({
        kind: 'invalid',
        field: 'username',
        detail: 'usernames are 1–63 characters: a-z first, then a-z 0-9 . _ -',
      });
    }
    const now = this.#d.clock.now();
    const user: User = { id: uuid(), username: input.username, role: input.role, createdAtMs: now };
    const { key, record } = newKey(user.id, 'default', now);
    const result = await this.#d.store.transaction(async (tx) => {
      if ((await tx.getUserByName(user.username)) !== undefined) return undefined;
      await tx.insertUser(user);
      await tx.insertApiKey(record);
      return tx.appendEvents(
        [
          newAuditEvent(actor, 'user.create', `Created ${user.role} ${user.username}`, now, {
            data: { username: user.username, role: user.role },
          }),
        ],
        now,
      );
    });
    if (result === undefined)
      return err({ kind: 'conflict', detail: `user ${input.username} already exists` });
    this.#d.bus.publish(result);
    return ok({ user, apiKey: key });
  }

  /**
   * Mints another API key for the signed-in user (for a tool of theirs, or a MAAS client: the
   * MAAS form of the key is the same key). Returned once; only its hash is kept.
   */
  async createApiKey(
    actor: Actor,
    name: string,
  ): Promise<Result<{ id: string; apiKey: string }, DomainError>> {
    if (actor.kind !== 'user')
      return err({ kind: 'forbidden', detail: 'only users have API keys' });
    if (!/^[\x20-\x7e]{1,64}$/.test(name)) {
      return err({ kind: 'invalid', field: 'name', detail: 'names are 1–64 printable characters' });
    }
    const now = this.#d.clock.now();
    const { key, record } = newKey(actor.user.id, name, now);
    const events = await this.#d.store.transaction(async (tx) => {
      await tx.insertApiKey(record);
      return tx.appendEvents(
        [newAuditEvent(actor, 'user.api-key', `Created API key ${record.id} (${name})`, now)],
        now,
      );
    });
    this.#d.bus.publish(events);
    return ok({ id: record.id, apiKey: key });
  }

  /** Lists users (admins see all; a user sees only themself). */
  async list(actor: Actor): Promise<User[]> {
    const users = await this.#d.store.listUsers();
    return actor.kind === 'user' && actor.user.role !== 'admin'
      ? users.filter((u) => u.id === actor.user.id)
      : users;
  }

  /** Resolves an API key to its user; `unauthenticated` for anything else. */
  async authenticate(apiKey: string): Promise<Result<User, DomainError>> {
    const denied: DomainError = {
      kind: 'unauthenticated',
      detail: 'missing, malformed or unknown API key',
    };
    const match = KEY_PATTERN.exec(apiKey);
    if (match === null) return err(denied);
    const [, id, secret] = match;
    if (id === undefined || secret === undefined) return err(denied);
    const record = await this.#d.store.getApiKey(id);
    if (record === undefined || !secretMatches(secret, record.secretHash)) return err(denied);
    if (isExpiredSession(record, this.#d.clock.now())) {
      return err({
        kind: 'unauthenticated',
        detail: 'the sign-in session has expired; sign in again',
      });
    }
    const user = await this.#d.store.getUser(record.userId);
    return user === undefined ? err(denied) : ok(user);
  }
}

function newKey(
  userId: string,
  name: string,
  nowMs: number,
): { key: string; record: Parameters<Store['insertApiKey']>[0] } {
  const id = shortId(12);
  const secret = newSecret(32);
  return {
    key: `ingot_${id}_${secret}`,
    record: { id, userId, secretHash: hashSecret(secret), name, createdAtMs: nowMs },
  };
}
