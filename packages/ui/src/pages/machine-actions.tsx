/**
 * A machine's actions: commission, allocate, deploy (OS/release, kernel, user data, in memory,
 * commands to run), release (with erase), abort, power on/off, lock/unlock, mark broken/fixed.
 * Buttons follow the machine's status; the controller has the last word and its refusals show.
 */
import { useEffect, useState, type ReactNode, type SyntheticEvent } from 'react';
import { errorText } from '../api.ts';
import { useApp } from '../app-context.ts';
import { ErrorBox } from '../components.tsx';
import type { Image, Machine } from '../types.ts';

type Form = 'deploy' | 'release' | undefined;

/** The action bar and its forms. */
export function MachineActions(props: {
  machine: Machine;
  onChanged: (m: Machine) => void;
}): ReactNode {
  const { api } = useApp();
  const m = props.machine;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [form, setForm] = useState<Form>();

  const run = async (path: string, body?: unknown): Promise<boolean> => {
    setBusy(true);
    setError(undefined);
    try {
      props.onChanged(await api.request<Machine>('POST', path, body ?? {}));
      return true;
    } catch (e) {
      setError(errorText(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  const base = `/api/v1/machines/${encodeURIComponent(m.id)}`;
  const button = (label: string, action: () => unknown, show: boolean, danger = false): ReactNode =>
    show && (
      <button
        type="button"
        disabled={busy}
        className={danger ? 'danger' : undefined}
        onClick={() => void action()}
      >
        {label}
      </button>
    );
  const s = m.status;
  const busyStatus = s === 'commissioning' || s === 'deploying' || s === 'releasing';

  return (
    <div className="actions">
      <div className="buttons" role="toolbar" aria-label="Machine actions">
        {button(
          'Commission',
          () => run(`${base}/commission`),
          ['new', 'ready', 'failed_commissioning', 'broken'].includes(s),
        )}
        {button(
          'Allocate',
          () => run('/api/v1/machines/allocate', { name: m.hostname }),
          s === 'ready',
        )}
        {button(
          'Deploy…',
          () => setForm(form === 'deploy' ? undefined : 'deploy'),
          s === 'allocated',
        )}
        {button(
          'Release…',
          () => setForm(form === 'release' ? undefined : 'release'),
          ['allocated', 'deployed', 'failed_deployment', 'failed_releasing'].includes(s),
        )}
        {button('Abort', () => run(`${base}/abort`), busyStatus, true)}
        {button('Power on', () => run(`${base}/power`, { action: 'on' }), m.power.type !== null)}
        {button(
          'Power off',
          () => run(`${base}/power`, { action: 'off' }),
          m.power.type !== null,
          true,
        )}
        {button(
          m.locked ? 'Unlock' : 'Lock',
          () => run(`${base}/${m.locked ? 'unlock' : 'lock'}`),
          true,
        )}
        {button(
          'Mark broken',
          () => run(`${base}/mark-broken`),
          s !== 'broken' && !busyStatus,
          true,
        )}
        {button('Mark fixed', () => run(`${base}/mark-fixed`), s === 'broken')}
      </div>
      <ErrorBox error={error} />
      {form === 'deploy' && s === 'allocated' && (
        <DeployForm
          machine={m}
          busy={busy}
          onSubmit={async (body) => (await run(`${base}/deploy`, body)) && setForm(undefined)}
        />
      )}
      {form === 'release' && (
        <ReleaseForm
          busy={busy}
          onSubmit={async (body) => (await run(`${base}/release`, body)) && setForm(undefined)}
        />
      )}
    </div>
  );
}

/** The `POST …/deploy` body the form builds. */
interface DeployBody {
  os: string;
  release: string;
  kernel?: string;
  user_data?: string;
  ephemeral: boolean;
  customisation?: { commands: string[] };
}

function DeployForm(props: {
  machine: Machine;
  busy: boolean;
  onSubmit: (b: DeployBody) => Promise<unknown>;
}): ReactNode {
  const { api } = useApp();
  const [images, setImages] = useState<Image[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [image, setImage] = useState('');
  const [kernel, setKernel] = useState('');
  const [userData, setUserData] = useState('');
  const [ephemeral, setEphemeral] = useState(false);
  const [commands, setCommands] = useState('');

  useEffect(() => {
    api.request<Image[]>('GET', '/api/v1/images').then(
      (list) => {
        const usable = list.filter(
          (i) => i.arch === props.machine.arch && i.files.some((f) => f.role === 'root-image'),
        );
        setImages(usable);
        const first = usable[0];
        setImage(
          (current) => current || (first === undefined ? '' : `${first.os}/${first.release}`),
        );
      },
      (e: unknown) => setError(errorText(e)),
    );
  }, [api, props.machine.arch]);

  const submit = (e: SyntheticEvent): void => {
    e.preventDefault();
    const [os = '', release = ''] = image.split('/');
    const run = commands
      .split('\n')
      .map((c) => c.trim())
      .filter((c) => c.length > 0);
    void props.onSubmit({
      os,
      release,
      ephemeral,
      ...(kernel.trim() === '' ? {} : { kernel: kernel.trim() }),
      ...(userData === '' ? {} : { user_data: userData }),
      ...(run.length === 0 ? {} : { customisation: { commands: run } }),
    });
  };

  return (
    <form className="card form" aria-label="Deploy" onSubmit={submit}>
      <h3>Deploy {props.machine.hostname}</h3>
      <ErrorBox error={error} />
      <label>
        Image (OS / release)
        <select name="image" required value={image} onChange={(e) => setImage(e.target.value)}>
          {images?.map((i) => (
            <option key={i.id} value={`${i.os}/${i.release}`}>
              {i.os}/{i.release} ({i.arch})
            </option>
          ))}
        </select>
      </label>
      <label>
        Kernel <small className="muted">(optional; the image's own by default)</small>
        <input name="kernel" value={kernel} onChange={(e) => setKernel(e.target.value)} />
      </label>
      <label>
        User data <small className="muted">(cloud-config or a script)</small>
        <textarea
          name="user_data"
          rows={4}
          value={userData}
          onChange={(e) => setUserData(e.target.value)}
        />
      </label>
      <label className="check">
        <input
          type="checkbox"
          name="ephemeral"
          checked={ephemeral}
          onChange={(e) => setEphemeral(e.target.checked)}
        />
        Deploy in memory (ephemeral: nothing is written to the disks)
      </label>
      <label>
        Commands to run in the installed OS{' '}
        <small className="muted">(one per line; disk deploys)</small>
        <textarea
          name="commands"
          rows={2}
          disabled={ephemeral}
          value={commands}
          onChange={(e) => setCommands(e.target.value)}
        />
      </label>
      <button type="submit" disabled={props.busy || image === ''}>
        Start deployment
      </button>
    </form>
  );
}

function ReleaseForm(props: {
  busy: boolean;
  onSubmit: (b: { erase: string }) => Promise<unknown>;
}): ReactNode {
  const [erase, setErase] = useState('none');
  return (
    <form
      className="card form"
      aria-label="Release"
      onSubmit={(e) => {
        e.preventDefault();
        void props.onSubmit({ erase });
      }}
    >
      <h3>Release</h3>
      {(
        [
          ['none', 'Keep the disks as they are'],
          ['quick', 'Quick erase: partition tables and signatures'],
          ['full', 'Full erase: overwrite every byte (slow)'],
        ] as const
      ).map(([value, text]) => (
        <label key={value} className="check">
          <input
            type="radio"
            name="erase"
            value={value}
            checked={erase === value}
            onChange={() => setErase(value)}
          />
          {text}
        </label>
      ))}
      <button type="submit" disabled={props.busy}>
        Release machine
      </button>
    </form>
  );
}
