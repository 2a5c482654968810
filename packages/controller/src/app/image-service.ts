/**
 * Boot resources (DESIGN.md §6): image files uploaded into the content-addressed image store,
 * and images registered over files that are there. Racks read the files by sha256.
 */
import { err, ok, type Clock, type Result } from '@ingot/common';
import type { DomainError } from '../domain/errors.ts';
import { validateBootResource, type BootResource } from '../domain/image/boot-resource.ts';
import type { Actor } from './actor.ts';
import type { BlobInfo, BlobRange, BlobStore, BlobWriteError } from './blob-store.ts';
import { newAuditEvent } from './audit-event.ts';
import { uuid } from './ids.ts';
import type { EventBus, Store } from './ports.ts';

/** Dependencies of {@link ImageService}. */
export interface ImageServiceDeps {
  readonly store: Store;
  readonly bus: EventBus;
  readonly clock: Clock;
  /** Where image files live. */
  readonly blobs: BlobStore;
}

/** Why an upload kept nothing: a use-case refusal, or bytes that do not match their name. */
export type UploadError = DomainError | BlobWriteError;

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

  /** One image. */
  async get(id: string): Promise<Result<BootResource, DomainError>> {
    const found = await this.#d.store.getBootResource(id);
    return found === undefined ? err({ kind: 'not-found', entity: 'image', id }) : ok(found);
  }

  /**
   * Stores an image file (admins only) under its sha256, checking the bytes hash to it (and
   * number `expectedSizeBytes`, when known). A file already stored is not rewritten.
   */
  async uploadFile(
    actor: Actor,
    sha256: string,
    body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    expectedSizeBytes: number | undefined,
  ): Promise<Result<{ readonly created: boolean; readonly sizeBytes: number }, UploadError>> {
    if (actor.kind !== 'user' || actor.user.role !== 'admin') {
      return err({ kind: 'forbidden', detail: 'uploading image files needs the admin role' });
    }
    const written = await this.#d.blobs.write(sha256, body, expectedSizeBytes);
    if (written.ok) {
      const { created, sizeBytes } = written.value;
      const verb = created ? 'Uploaded' : 'Uploaded (already stored)';
      await this.#audit(actor, 'image.file', `${verb} image file ${sha256}`, {
        sha256,
        size_bytes: sizeBytes,
        created,
      });
    }
    return written;
  }

  /** Stores and publishes one audit event by `actor`. */
  async #audit(
    actor: Actor,
    step: string,
    message: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    const now = this.#d.clock.now();
    const events = await this.#d.store.appendEvents(
      [newAuditEvent(actor, step, message, now, { data })],
      now,
    );
    this.#d.bus.publish(events);
  }

  /** An image file's size, for admins and racks (which fetch files into their caches). */
  async fileInfo(actor: Actor, sha256: string): Promise<Result<BlobInfo, DomainError>> {
    if (actor.kind === 'user' && actor.user.role !== 'admin') {
      return err({ kind: 'forbidden', detail: 'reading image files needs the admin role' });
    }
    const info = await this.#d.blobs.stat(sha256);
    return info === undefined
      ? err({ kind: 'not-found', entity: 'image file', id: sha256 })
      : ok(info);
  }

  /** Streams an image file checked with {@link ImageService.fileInfo}. */
  readFile(sha256: string, range?: BlobRange): ReadableStream<Uint8Array> {
    return this.#d.blobs.read(sha256, range);
  }

  /**
   * Registers an image (admins only); one per os/release/arch. Every file must already be in the
   * image store with the size given: a rack could never fetch it otherwise.
   */
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
    const missing: string[] = [];
    for (const f of input.files) {
      const blob = await this.#d.blobs.stat(f.sha256);
      if (blob === undefined)
        missing.push(`${f.role} ${f.name} (sha256 ${f.sha256}) is not uploaded`);
      else if (blob.sizeBytes !== f.sizeBytes)
        missing.push(
          `${f.role} ${f.name} is ${blob.sizeBytes} bytes in the image store, not ${f.sizeBytes}`,
        );
    }
    if (missing.length > 0) {
      return err({
        kind: 'invalid',
        field: 'files',
        detail: `${missing.join('; ')}: upload each file first with PUT /api/v1/images/files/<sha256> (ingot images import does)`,
      });
    }
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

  /**
   * Deletes an image (admins only) and the files no other image uses. Machines already deployed
   * from it are not affected; racks keep cached copies until their caches evict them.
   */
  async delete(actor: Actor, id: string): Promise<Result<void, DomainError>> {
    if (actor.kind === 'user' && actor.user.role !== 'admin') {
      return err({ kind: 'forbidden', detail: 'deleting images needs the admin role' });
    }
    const image = await this.#d.store.getBootResource(id);
    if (image === undefined || !(await this.#d.store.deleteBootResource(id))) {
      return err({ kind: 'not-found', entity: 'image', id });
    }
    // Read after the delete: a file registered meanwhile by another image is still referenced.
    const inUse = new Set(
      (await this.#d.store.listBootResources()).flatMap((r) => r.files.map((f) => f.sha256)),
    );
    const removed = image.files.filter((f) => !inUse.has(f.sha256));
    for (const f of removed) await this.#d.blobs.delete(f.sha256);
    const name = `${image.os}/${image.release}/${image.arch}`;
    await this.#audit(actor, 'image.delete', `Deleted image ${name}`, {
      id,
      files_removed: removed.map((f) => f.sha256),
    });
    return ok(undefined);
  }
}
