/**
 * The controller's services wired on a real in-memory SQLite store, a {@link FakeClock}, a
 * recording event bus and a recording rack notifier: what service and API tests start from.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, silentLogger, type Logger } from '@ingot/common';
import type { BlobStore } from '../app/blob-store.ts';
import type { Actor } from '../app/actor.ts';
import { MachineService, type CreateMachineInput } from '../app/machine-service.ts';
import type { Store } from '../app/ports.ts';
import { RackService } from '../app/rack-service.ts';
import { DEFAULT_TIMEOUTS, type StatusTimeouts } from '../app/transition-runner.ts';
import { UserService } from '../app/user-service.ts';
import { SubnetService } from '../app/subnet-service.ts';
import { ImageService } from '../app/image-service.ts';
import { SshKeyService } from '../app/ssh-key-service.ts';
import { MetadataService } from '../app/metadata-service.ts';
import { createSecretBox, generateSecretKey, type SecretBox } from '../app/secret-box.ts';
import type { Machine } from '../domain/machine/machine.ts';
import type { Rack } from '../domain/rack.ts';
import type { Role, User } from '../domain/user.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import { openFsBlobStore } from '../store/fs-blob-store.ts';
import type {
  BootFileRole,
  BootResource,
  BootResourceFile,
} from '../domain/image/boot-resource.ts';
import { uniqueMac } from './domain-fixtures.ts';
import { RecordingEventBus } from './recording-event-bus.ts';
import { RecordingRackNotifier } from './recording-rack-notifier.ts';

/** A user made by the fixture, with its API key and the actor to act as it. */
export interface FixtureUser {
  readonly user: User;
  readonly apiKey: string;
  readonly actor: Actor;
}

/** Options of {@link createServiceFixture}. */
export interface ServiceFixtureOptions {
  readonly clock?: FakeClock | undefined;
  readonly timeouts?: StatusTimeouts | undefined;
  readonly logger?: Logger | undefined;
  /** Where the store lives; default `:memory:`. */
  readonly file?: string | undefined;
  readonly enrollmentTokenTtlMs?: number | undefined;
}

/** Services, their fakes, and helpers to set up common states. Call `close()` when done. */
export interface ServiceFixture {
  readonly store: Store;
  readonly clock: FakeClock;
  readonly bus: RecordingEventBus;
  readonly notifier: RecordingRackNotifier;
  readonly timeouts: StatusTimeouts;
  /** Seals power parameters, under a random key per fixture. */
  readonly secrets: SecretBox;
  readonly machines: MachineService;
  readonly racks: RackService;
  readonly users: UserService;
  readonly subnets: SubnetService;
  readonly images: ImageService;
  readonly sshKeys: SshKeyService;
  readonly metadata: MetadataService;
  /** The image store (a real one, on disk in {@link ServiceFixture.blobDir}). */
  readonly blobs: BlobStore;
  readonly blobDir: string;
  /** The bootstrap admin. */
  readonly admin: FixtureUser;
  /** Creates a user with the given role. */
  addUser(username: string, role?: Role): Promise<FixtureUser>;
  /** Enrolls a rack through a one-time token, as an agent would. */
  enrollRack(hostname?: string): Promise<{ rack: Rack; secret: string }>;
  /** Creates a machine as the admin; `commission: false` by default, so it is `ready`. */
  createMachine(input?: Partial<CreateMachineInput>): Promise<Machine>;
  /** Creates a ready machine and allocates it (by name) to `owner`. */
  allocatedMachine(owner: FixtureUser, input?: Partial<CreateMachineInput>): Promise<Machine>;
  close(): Promise<void>;
}

/** The bytes of the default image's files: small stand-ins, by file name. */
export const DEFAULT_IMAGE_BYTES: Readonly<Record<string, Uint8Array>> = {
  vmlinuz: new TextEncoder().encode('stand-in kernel\n'),
  'initrd.img': new TextEncoder().encode('stand-in initrd\n'),
  'root.squashfs': new TextEncoder().encode('stand-in root squashfs\n'),
  'ephemeral-vmlinuz': new TextEncoder().encode('stand-in ephemeral kernel\n'),
  'ephemeral-initrd.img': new TextEncoder().encode('stand-in ephemeral initrd\n'),
  'ephemeral.squashfs': new TextEncoder().encode('stand-in ephemeral squashfs\n'),
};

const defaultFile = (role: BootFileRole, name: string): BootResourceFile => {
  const bytes = DEFAULT_IMAGE_BYTES[name] ?? new Uint8Array();
  return {
    role,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    sizeBytes: bytes.byteLength,
    name,
  };
};

/**
 * The image every fixture registers: debian/bookworm/amd64 over {@link DEFAULT_IMAGE_BYTES},
 * which every fixture's image store holds.
 */
export const DEFAULT_IMAGE: Omit<BootResource, 'id' | 'createdAtMs'> = {
  os: 'debian',
  release: 'bookworm',
  arch: 'amd64',
  files: [
    defaultFile('kernel', 'vmlinuz'),
    defaultFile('initrd', 'initrd.img'),
    defaultFile('squashfs', 'root.squashfs'),
  ],
  kernelParams: '',
};

/**
 * Ingot's ephemeral environment (ingot/ephemeral/amd64), which commissioning, disk deploys and
 * erases boot; every fixture registers it too.
 */
export const EPHEMERAL_IMAGE: Omit<BootResource, 'id' | 'createdAtMs'> = {
  os: 'ingot',
  release: 'ephemeral',
  arch: 'amd64',
  files: [
    defaultFile('kernel', 'ephemeral-vmlinuz'),
    defaultFile('initrd', 'ephemeral-initrd.img'),
    defaultFile('squashfs', 'ephemeral.squashfs'),
  ],
  kernelParams: '',
};

/** Opens a store and builds the services over it. Throws if any setup step fails. */
export async function createServiceFixture(
  options: ServiceFixtureOptions = {},
): Promise<ServiceFixture> {
  const store = await openSqliteStore(options.file ?? ':memory:');
  const clock = options.clock ?? new FakeClock();
  const bus = new RecordingEventBus();
  const notifier = new RecordingRackNotifier();
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  const users = new UserService({ store, bus, clock });
  const secrets = createSecretBox(generateSecretKey());
  const machines = new MachineService({ store, bus, racks: notifier, clock, timeouts, secrets });
  const racks = new RackService({
    store,
    bus,
    racks: notifier,
    clock,
    logger: options.logger ?? silentLogger,
    timeouts,
    secrets,
    enrollmentTokenTtlMs: options.enrollmentTokenTtlMs ?? 3_600_000,
  });

  const subnets = new SubnetService({ store, bus, racks: notifier, clock });
  // A real image store in a directory of its own, removed by close().
  const blobDir = mkdtempSync(join(tmpdir(), 'ingot-blobs-'));
  const blobs = openFsBlobStore(blobDir);
  for (const [name, bytes] of Object.entries(DEFAULT_IMAGE_BYTES)) {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const stored = await blobs.write(sha256, [bytes]);
    if (!stored.ok) throw new Error(`could not store ${name}: ${stored.error.kind}`);
  }
  const images = new ImageService({ store, bus, clock, blobs });
  const sshKeys = new SshKeyService({ store, bus, clock });
  const metadata = new MetadataService({ store, bus, racks: notifier, clock, timeouts, secrets });

  const adminKey = await users.bootstrapAdmin();
  const adminUser = await store.getUserByName('admin');
  if (adminKey === undefined || adminUser === undefined) throw new Error('no bootstrap admin');
  const admin: FixtureUser = {
    user: adminUser,
    apiKey: adminKey,
    actor: { kind: 'user', user: adminUser },
  };

  // Deploys need an image for their os/release/arch; register Debian's by default.
  const image = await images.create(admin.actor, DEFAULT_IMAGE);
  if (!image.ok) throw new Error(`could not register the default image: ${image.error.kind}`);
  const env = await images.create(admin.actor, EPHEMERAL_IMAGE);
  if (!env.ok) throw new Error(`could not register the ephemeral image: ${env.error.kind}`);

  const addUser = async (username: string, role: Role = 'user'): Promise<FixtureUser> => {
    const created = await users.create(admin.actor, { username, role });
    if (!created.ok) throw new Error(`could not create user ${username}: ${created.error.kind}`);
    const { user, apiKey } = created.value;
    return { user, apiKey, actor: { kind: 'user', user } };
  };

  const enrollRack = async (hostname = 'rack-1'): Promise<{ rack: Rack; secret: string }> => {
    const token = await racks.createEnrollmentToken(admin.actor);
    if (!token.ok) throw new Error(`no enrollment token: ${token.error.kind}`);
    const registered = await racks.register({
      token: token.value.token,
      hostname,
      version: 'test',
      interfaces: [],
    });
    if (!registered.ok) throw new Error(`could not enroll rack: ${registered.error.kind}`);
    return registered.value;
  };

  const createMachine = async (input: Partial<CreateMachineInput> = {}): Promise<Machine> => {
    const created = await machines.create(admin.actor, {
      arch: 'amd64',
      macs: [uniqueMac()],
      cpuCount: 4,
      memoryMib: 8192,
      storageGib: 100,
      commission: false,
      ...input,
    });
    if (!created.ok) throw new Error(`could not create machine: ${created.error.kind}`);
    return created.value;
  };

  const allocatedMachine = async (
    owner: FixtureUser,
    input: Partial<CreateMachineInput> = {},
  ): Promise<Machine> => {
    const machine = await createMachine(input);
    const allocated = await machines.allocate(owner.actor, { name: machine.id });
    if (!allocated.ok) throw new Error(`could not allocate: ${allocated.error.kind}`);
    return allocated.value;
  };

  return {
    store,
    clock,
    bus,
    notifier,
    timeouts,
    secrets,
    machines,
    racks,
    users,
    subnets,
    images,
    sshKeys,
    metadata,
    admin,
    addUser,
    enrollRack,
    createMachine,
    allocatedMachine,
    blobs,
    blobDir,
    async close() {
      await store.close();
      rmSync(blobDir, { recursive: true, force: true });
    },
  };
}
