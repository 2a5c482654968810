/**
 * What a simulated machine reads from what the agent serves it: the iPXE script (kernel URL and
 * command line, initrd URL, or a local boot), the kernel command line's `ingot.*` parameters, and
 * the OAuth PLAINTEXT header the installer builds from its token. Pure.
 */

/** What an iPXE script tells iPXE to do. */
export type IpxeBoot =
  | { readonly kind: 'local' }
  | {
      readonly kind: 'network';
      readonly kernelUrl: string;
      readonly initrdUrl: string;
      /** The kernel command line (without iPXE's `initrd=` argument). */
      readonly cmdline: string;
    };

/**
 * Reads an iPXE script as iPXE would follow it: `kernel URL ARGS…` then `initrd [--name N] URL`
 * then `boot`; `sanboot`/`exit` without a kernel is a local boot. `undefined` when it is not an
 * iPXE script or names a kernel without an initrd.
 */
export function parseIpxeScript(text: string): IpxeBoot | undefined {
  const lines = text.split('\n').map((l) => l.trim());
  if (lines[0] !== '#!ipxe') return undefined;
  let kernel: { url: string; args: string[] } | undefined;
  let initrd: string | undefined;
  for (const line of lines.slice(1)) {
    const words = line.replace(/\s+\|\|.*$/, '').split(/\s+/);
    const [cmd, ...rest] = words;
    if (cmd === 'kernel' && rest[0] !== undefined) {
      kernel = { url: rest[0], args: rest.slice(1).filter((a) => !a.startsWith('initrd=')) };
    } else if (cmd === 'initrd') {
      const urlWord = rest.filter((w, i) => !w.startsWith('--') && rest[i - 1] !== '--name')[0];
      initrd = urlWord;
    } else if ((cmd === 'sanboot' || cmd === 'exit') && kernel === undefined) {
      return { kind: 'local' };
    }
  }
  if (kernel === undefined || initrd === undefined) return undefined;
  return {
    kind: 'network',
    kernelUrl: kernel.url,
    initrdUrl: initrd,
    cmdline: kernel.args.join(' '),
  };
}

/** The `ingot.*` kernel parameters the installer and Ingot's initramfs read. */
export interface IngotCmdline {
  readonly purpose: string;
  readonly machine: string;
  readonly agent: string;
  readonly squashfs: string | undefined;
  readonly metadata: string;
  readonly token: string;
}

/** Reads the `ingot.*` words of a kernel command line; `undefined` when a required one is missing. */
export function parseIngotCmdline(cmdline: string): IngotCmdline | undefined {
  const get = (key: string): string | undefined => {
    for (const word of cmdline.split(/\s+/))
      if (word.startsWith(`${key}=`)) return word.slice(key.length + 1);
    return undefined;
  };
  const purpose = get('ingot.purpose');
  const machine = get('ingot.machine');
  const metadata = get('ingot.metadata');
  const token = get('ingot.token');
  if (
    purpose === undefined ||
    machine === undefined ||
    metadata === undefined ||
    token === undefined
  )
    return undefined;
  return {
    purpose,
    machine,
    agent: (get('ingot.agent') ?? '').replace(/\/$/, ''),
    squashfs: get('ingot.squashfs'),
    metadata: metadata.endsWith('/') ? metadata : `${metadata}/`,
    token,
  };
}

/**
 * The `Authorization` value the installer sends (`ingot_oauth_header` in
 * packages/images/installer/lib/cloud-datasource.sh): OAuth 1.0 PLAINTEXT, empty consumer secret,
 * signature `&<token secret>` URL-escaped. `undefined` for a token not of the form `a:b:c`.
 */
export function oauthHeader(token: string, nonce: string, nowSeconds: number): string | undefined {
  const [consumer, tokenKey, secret, ...rest] = token.split(':');
  if (consumer === undefined || tokenKey === undefined || secret === undefined || rest.length > 0)
    return undefined;
  return (
    `OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", ` +
    `oauth_consumer_key="${consumer}", oauth_token="${tokenKey}", oauth_signature="%26${secret}", ` +
    `oauth_nonce="${nonce}", oauth_timestamp="${Math.floor(nowSeconds)}"`
  );
}

/** The sha256 an agent URL names (`…/images/<sha256>?mac=…`), if any. */
export function sha256OfUrl(url: string): string | undefined {
  return /\/images\/([0-9a-f]{64})(?:\?|$)/.exec(url)?.[1];
}
