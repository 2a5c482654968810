/**
 * Boot resources (DESIGN.md §6). This registers an image's files by sha256 and size; moving the
 * bytes (import from a directory or archive, the agents' cache) builds on it.
 */
import { err, ok, type Clock, type Result } from '@ingot/common';
import type { DomainError } from '../domain/errors.ts';
import { validateBootResource, type BootResource } from '../domain/image/boot-resource.ts';
import type { Actor } from './actor.ts';
import { newAuditEvent } from './audit-event.ts';
import { uuid } from './ids.ts';
import type { EventBus, Store } from './ports.ts';

/** Dependencies of {@link ImageService}. */
export interface ImageServiceDeps {
  readonly store: Store;
  readonly bus: EventBus;
  readonly clock: Clock;
}

/** The image use cases. */
export class ImageService {
  readonly #d: ImageServiceDeps;

  constructor(deps: ImageServiceDeps) {
    this.#d = deps;
  }

  /** Lists images (everyone may see what can be deployed). */
  async list(): Promise<BootResource[]> {
    return this.#d.store.listBootResources();
  }

  /** Registers an image (admins only); one per os/release/arch. */
  async create(
    actor: Actor,
    input: Omit<BootResource, 'id' | 'createdAtMs'>,
  ): Promise<Result<BootResource, DomainError>> {
    if (actor.kind === 'user' && actor.user.role !== 'admin') {
      return err({ kind: 'forbidden', detail: 'importing images needs the admin role' });
    }
    const problems = validateBootResource(input);
    if (problems.length > 0)
      return err({ kind: 'invalid', field: 'files', detail: problems.join('; ') });
    const now = this.#d.clock.now();
    const resource: BootResource = { ...input, id: uuid(), createdAtMs: now };
    const name = `${input.os}/${input.release}/${input.arch}`;
    const stored = await this.#d.store.transaction(async (tx) => {
      if ((await tx.findBootResource(input.os, input.release, input.arch)) !== undefined)
        return undefined;
      await tx.insertBootResource(resource);
      return tx.appendEvents(
        [
          newAuditEvent(actor, 'image.create', `Registered image ${name}`, now, {
            data: {
              id: resource.id,
              files: resource.files.map((f) => ({ role: f.role, sha256: f.sha256 })),
            },
          }),
        ],
        now,
      );
    });
    if (stored === undefined)
      return err({ kind: 'conflict', detail: `image ${name} already exists` });
    this.#d.bus.publish(stored);
    return ok(resource);
  }

  /** Deletes an image (admins only). Machines already deployed from it are not affected. */
  async delete(actor: Actor, id: string): Promise<Result<void, DomainError>> {
    if (actor.kind === 'user' && actor.user.role !== 'admin') {
      return err({ kind: 'forbidden', detail: 'deleting images needs the admin role' });
    }
    return (await this.#d.store.deleteBootResource(id))
      ? ok(undefined)
      : err({ kind: 'not-found', entity: 'image', id });
  }
}
