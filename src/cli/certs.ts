/**
 * `ringcache certs`: a local CA and the certificates a cluster needs for TLS (clients) and mTLS (between
 * nodes), made with the `openssl` binary. It is for trying TLS on one machine; production should use
 * its own CA (cert-manager, Vault, a corporate PKI).
 *
 * Keys are EC P-256: small, fast to make, and the cheapest handshakes that every TLS stack (Node,
 * grpc-js, Go, curl) accepts. The openssl binary rather than a JavaScript X.509 library: it is on every
 * machine and image that runs this, it is the reference implementation, and it adds no dependency.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RingCacheError } from '../errors';

export interface CertOptions {
  /** The directory to write into; made (mode 0700) when absent. */
  out: string;
  /** Node ids: each gets `<id>.pem` + `<id>-key.pem`, a server and client certificate in one. */
  nodes: string[];
  /** Extra names and addresses for every node certificate (DNS: for names, IP: for addresses). */
  hosts: string[];
  /** How long every certificate is valid. */
  days: number;
  /** Overwrite an existing CA (and every file this makes) in `out`. */
  force: boolean;
}

export interface CertPair {
  cert: string;
  key: string;
}

/** Every file made, as absolute paths. */
export interface CertFiles {
  dir: string;
  ca: CertPair;
  /** By node id. */
  nodes: Record<string, CertPair>;
  client: CertPair;
}

/** Node ids as cluster.yml allows them (src/config/types.ts). */
const NODE_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const DNS_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
/** A DNS name, optionally a wildcard in its first label. */
const DNS_NAME = new RegExp(`^(?:\\*\\.)?${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);
/** What every node certificate names besides its id and --hosts: the loopback names. */
const LOOPBACK = ['localhost', '127.0.0.1', '::1'];
const MAX_DAYS = 36_500;

/** Makes the CA, one certificate per node and a client certificate in `opts.out`. */
export async function makeCerts(opts: CertOptions): Promise<CertFiles> {
  validate(opts);
  const dir = path.resolve(opts.out);
  const files = certFiles(dir, opts.nodes);
  if (existsSync(files.ca.cert) && !opts.force) {
    throw new RingCacheError(
      'CONFIG_INVALID',
      `${files.ca.cert} already exists; pass --force to replace the CA and every certificate it signed, or choose another --out`,
    );
  }
  await opensslVersion();

  // Everything is made in a private temporary directory, then copied: a failure leaves `out` as it was
  // (ca.pem is written last, so a partly written `out` is not taken for a finished one).
  const work = mkdtempSync(path.join(os.tmpdir(), 'ringcache-certs-'));
  try {
    const made = new Map<string, string>(); // final path -> temporary path
    const w = (name: string) => path.join(work, name);

    writeFileSync(w('req.cnf'), REQ_CONFIG);
    await openssl(newKeyArgs(w('ca-key.pem')));
    writeFileSync(w('ca.cnf'), caExtensions());
    await openssl([
      'req',
      '-new',
      '-x509',
      '-key',
      w('ca-key.pem'),
      '-subj',
      `/O=ringcache/CN=ringcache local CA ${randomBytes(4).toString('hex')}`,
      '-days',
      String(opts.days),
      '-sha256',
      '-set_serial',
      serial(),
      '-extensions',
      'v3',
      '-config',
      w('ca.cnf'),
      '-out',
      w('ca.pem'),
    ]);

    const leaf = async (name: string, cn: string, extensions: string, pair: CertPair) => {
      await openssl(newKeyArgs(w(`${name}-key.pem`)));
      await openssl([
        'req',
        '-new',
        '-config',
        w('req.cnf'),
        '-key',
        w(`${name}-key.pem`),
        '-subj',
        `/O=ringcache/CN=${cn}`,
        '-out',
        w(`${name}.csr`),
      ]);
      writeFileSync(w(`${name}.cnf`), extensions);
      await openssl([
        'x509',
        '-req',
        '-in',
        w(`${name}.csr`),
        '-CA',
        w('ca.pem'),
        '-CAkey',
        w('ca-key.pem'),
        '-set_serial',
        serial(),
        '-days',
        String(opts.days),
        '-sha256',
        '-extfile',
        w(`${name}.cnf`),
        '-extensions',
        'v3',
        '-out',
        w(`${name}.pem`),
      ]);
      made.set(pair.cert, w(`${name}.pem`));
      made.set(pair.key, w(`${name}-key.pem`));
    };

    // Node n is made as node-<i> in the work directory, so no id can collide with ca or client there.
    for (const [i, id] of opts.nodes.entries()) {
      await leaf(
        `node-${i}`,
        id,
        leafExtensions(['serverAuth', 'clientAuth'], subjectAltNames(id, opts.hosts)),
        files.nodes[id]!,
      );
    }
    await leaf('client', 'client', leafExtensions(['clientAuth'], []), files.client);
    made.set(files.ca.key, w('ca-key.pem'));
    made.set(files.ca.cert, w('ca.pem'));

    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700); // whatever the umask
    }
    for (const [to, from] of made) {
      const isKey = to.endsWith('-key.pem');
      // A new file, so the mode below is the file's mode from its first byte (writeFile keeps an
      // existing file's mode).
      if (existsSync(to)) unlinkSync(to);
      writeFileSync(to, readFileSync(from), { mode: isKey ? 0o600 : 0o644 });
      chmodSync(to, isKey ? 0o600 : 0o644);
    }
    return files;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The paths makeCerts writes for `nodes` in `dir`. */
export function certFiles(dir: string, nodes: string[]): CertFiles {
  const pair = (name: string): CertPair => ({
    cert: path.join(dir, `${name}.pem`),
    key: path.join(dir, `${name}-key.pem`),
  });
  return {
    dir,
    ca: pair('ca'),
    nodes: Object.fromEntries(nodes.map((id) => [id, pair(id)])),
    client: pair('client'),
  };
}

/** What a person does with the files: printed by `ringcache certs`. */
export function usageText(files: CertFiles): string {
  const yaml = (p: string) => (/^[A-Za-z0-9_./{}-]+$/.test(p) ? p : JSON.stringify(p));
  const sh = (p: string) => (/^[A-Za-z0-9_./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`);
  const d = files.dir;
  const pair = (p: CertPair) => `${path.basename(p.cert)} + ${path.basename(p.key)}`;
  const ids = Object.keys(files.nodes);
  const lines = [
    `made in ${d}:`,
    `  ${pair(files.ca)}   the local CA (keep its key private)`,
    ...ids.map(
      (id) => `  ${pair(files.nodes[id]!)}   node ${id}: its server certificate and its client one for peers`,
    ),
    `  ${pair(files.client)}   a client certificate for the SDK and CLI`,
    '',
    "in cluster.yml, under cluster: ({id} stands for each node's own id):",
    'cluster:',
    '  tls:',
    `    ca: ${yaml(path.join(d, 'ca.pem'))}`,
    `    cert: ${yaml(path.join(d, '{id}.pem'))}`,
    `    key: ${yaml(path.join(d, '{id}-key.pem'))}`,
    '    client_auth: require',
    '',
    'SDK and CLI:',
    `  --tls-ca ${sh(files.ca.cert)} --tls-cert ${sh(files.client.cert)} --tls-key ${sh(files.client.key)}`,
    'buf curl:',
    `  buf curl --cacert ${sh(files.ca.cert)} --cert ${sh(files.client.cert)} --key ${sh(files.client.key)} ...`,
    '',
    'These are for trying TLS locally; production should use its own CA (e.g. cert-manager).',
  ];
  return `${lines.join('\n')}\n`;
}

function validate(opts: CertOptions): void {
  const bad = (message: string) => new RingCacheError('CONFIG_INVALID', message);
  if (!opts.out) throw bad('--out: which directory should the certificates go to?');
  if (opts.nodes.length === 0) throw bad('--nodes: name at least one node id, e.g. --nodes n1,n2,n3');
  const seen = new Set<string>();
  for (const id of opts.nodes) {
    if (id === '') throw bad('--nodes: an empty node id (a comma too many?)');
    if (!NODE_ID.test(id) || id === '.' || id === '..') {
      throw bad(`--nodes: "${id}" is not a node id (1 to 64 of A-Z a-z 0-9 _ . -)`);
    }
    if (seen.has(id)) throw bad(`--nodes: "${id}" is named twice`);
    seen.add(id);
  }
  // Every file name once: a node called "ca", "client" or "<other id>-key" would overwrite another file.
  const names = new Map<string, string>();
  for (const owner of ['CA', 'client', ...opts.nodes.map((id) => `node ${id}`)]) {
    const base = owner === 'CA' ? 'ca' : owner === 'client' ? 'client' : owner.slice(5);
    for (const name of [`${base}.pem`, `${base}-key.pem`]) {
      const other = names.get(name);
      if (other !== undefined)
        throw bad(`--nodes: ${owner} and ${other} would both write ${name}; rename the node`);
      names.set(name, owner);
    }
  }
  for (const host of opts.hosts) {
    if (host === '') throw bad('--hosts: an empty entry (a comma too many?)');
    if (isIP(host) === 0 && !DNS_NAME.test(host)) {
      throw bad(`--hosts: "${host}" is neither an IP address nor a DNS name`);
    }
  }
  if (!Number.isInteger(opts.days) || opts.days < 1 || opts.days > MAX_DAYS) {
    throw bad(`--days: expected a whole number from 1 to ${MAX_DAYS}, got ${String(opts.days)}`);
  }
}

/** DNS:<id>, the loopback names and every --hosts entry, each once. */
function subjectAltNames(id: string, hosts: string[]): string[] {
  const names = [...new Set([id, ...LOOPBACK, ...hosts])];
  return names.map((n) => (isIP(n) === 0 ? `DNS:${n}` : `IP:${n}`));
}

/** A minimal `openssl req` config: the system's default one may be absent or ask questions. */
const REQ_CONFIG = ['[req]', 'distinguished_name = dn', 'prompt = no', '[dn]', ''].join('\n');

function caExtensions(): string {
  return [
    ...REQ_CONFIG.split('\n'),
    '[v3]',
    'basicConstraints = critical, CA:TRUE, pathlen:0',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
    '',
  ].join('\n');
}

function leafExtensions(usages: string[], altNames: string[]): string {
  return [
    '[v3]',
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    `extendedKeyUsage = ${usages.join(', ')}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    ...(altNames.length > 0 ? [`subjectAltName = ${altNames.join(', ')}`] : []),
    '',
  ].join('\n');
}

function newKeyArgs(file: string): string[] {
  return ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file];
}

/** A random positive 127-bit serial, as openssl's -set_serial takes it. */
function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return `0x${b.toString('hex')}`;
}

/** `openssl version`; refuses clearly when the binary is missing. */
export async function opensslVersion(): Promise<string> {
  return (await openssl(['version'])).trim();
}

function openssl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { timeout: 60_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(
          new RingCacheError(
            'UNAVAILABLE',
            'ringcache certs needs the openssl binary: apt-get install openssl',
          ),
        );
      }
      reject(
        new RingCacheError('INTERNAL', `openssl ${args[0] ?? ''} failed: ${(stderr || err.message).trim()}`),
      );
    });
  });
}
