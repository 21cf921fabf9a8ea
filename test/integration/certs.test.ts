import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { parse as parseYaml } from 'yaml';
import { makeCerts, type CertFiles } from '../../src/cli/certs';
import { isRingCacheError } from '../../src/errors';

const CLI = path.resolve(__dirname, '../../src/cli/main.js');
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

const x509 = (file: string) => new X509Certificate(readFileSync(file));
const mode = (file: string) => statSync(file).mode & 0o777;

async function refusal(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(err, 'expected a refusal').to.be.instanceOf(Error);
  expect(isRingCacheError(err, 'CONFIG_INVALID'), String(err)).to.equal(true);
  return err!;
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('ringcache certs: a local CA and TLS certificates', function () {
  this.timeout(60_000);
  let tmp: string;
  let out: string;
  let files: CertFiles;

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ringcache-certs-test-'));
    out = path.join(tmp, 'certs');
    files = await makeCerts({
      out,
      nodes: ['n1', 'n2'],
      hosts: ['my-host.example', '10.1.2.3'],
      days: 825,
      force: false,
    });
  });

  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('makes a CA: self-signed, a CA, EC P-256, in a 0700 directory', () => {
    expect(files.dir).to.equal(out);
    expect(mode(out)).to.equal(0o700);
    const ca = x509(files.ca.cert);
    expect(ca.ca).to.equal(true);
    expect(ca.checkIssued(ca)).to.equal(true);
    expect(ca.verify(ca.publicKey)).to.equal(true);
    expect(ca.publicKey.asymmetricKeyType).to.equal('ec');
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).to.equal('prime256v1');
    expect(ca.checkPrivateKey(createPrivateKey(readFileSync(files.ca.key)))).to.equal(true);
  });

  it('makes a certificate per node, signed by the CA, with its names and both usages', () => {
    const ca = x509(files.ca.cert);
    for (const id of ['n1', 'n2']) {
      const pair = files.nodes[id]!;
      expect(pair.cert).to.equal(path.join(out, `${id}.pem`));
      expect(pair.key).to.equal(path.join(out, `${id}-key.pem`));
      const cert = x509(pair.cert);
      expect(cert.ca).to.equal(false);
      expect(cert.subject).to.include(`CN=${id}`);
      expect(cert.checkIssued(ca)).to.equal(true);
      expect(cert.verify(ca.publicKey)).to.equal(true);
      expect(cert.checkPrivateKey(createPrivateKey(readFileSync(pair.key)))).to.equal(true);
      const sans = (cert.subjectAltName ?? '').split(', ');
      expect(sans).to.include.members([
        `DNS:${id}`,
        'DNS:localhost',
        'IP Address:127.0.0.1',
        'IP Address:0:0:0:0:0:0:0:1',
        'DNS:my-host.example',
        'IP Address:10.1.2.3',
      ]);
      expect(cert.keyUsage).to.have.members([SERVER_AUTH, CLIENT_AUTH]);
      expect(cert.checkHost('my-host.example')).to.equal('my-host.example');
      expect(cert.checkIP('127.0.0.1')).to.equal('127.0.0.1');
    }
    expect(x509(files.nodes.n1!.cert).serialNumber).to.not.equal(x509(files.nodes.n2!.cert).serialNumber);
  });

  it('makes a client certificate for clientAuth only', () => {
    const client = x509(files.client.cert);
    expect(client.subject).to.include('CN=client');
    expect(client.checkIssued(x509(files.ca.cert))).to.equal(true);
    expect(client.keyUsage).to.deep.equal([CLIENT_AUTH]);
    expect(client.checkPrivateKey(createPrivateKey(readFileSync(files.client.key)))).to.equal(true);
  });

  it('writes private keys with mode 0600, certificates readable', () => {
    for (const pair of [files.ca, files.client, ...Object.values(files.nodes)]) {
      expect(mode(pair.key), pair.key).to.equal(0o600);
      expect(mode(pair.cert), pair.cert).to.equal(0o644);
    }
  });

  it('needs --force to replace an existing CA, and replaces everything with it', async () => {
    const before = x509(files.ca.cert).fingerprint256;
    const err = await refusal(makeCerts({ out, nodes: ['n1'], hosts: [], days: 30, force: false }));
    expect(err.message).to.include('--force');
    expect(x509(files.ca.cert).fingerprint256).to.equal(before);

    const dir2 = path.join(tmp, 'forced');
    const first = await makeCerts({ out: dir2, nodes: ['n1'], hosts: [], days: 30, force: false });
    const firstCa = x509(first.ca.cert).fingerprint256;
    const again = await makeCerts({ out: dir2, nodes: ['n1'], hosts: [], days: 30, force: true });
    const ca = x509(again.ca.cert);
    expect(ca.fingerprint256).to.not.equal(firstCa);
    expect(x509(again.nodes.n1!.cert).checkIssued(ca)).to.equal(true);
    expect(mode(again.nodes.n1!.key)).to.equal(0o600);
  });

  it('refuses empty, duplicate, malformed and colliding node ids, and malformed hosts', async () => {
    const dir = path.join(tmp, 'refused');
    const attempt = (nodes: string[], hosts: string[] = [], days = 825) =>
      refusal(makeCerts({ out: dir, nodes, hosts, days, force: false }));
    expect((await attempt([])).message).to.include('--nodes');
    expect((await attempt(['n1', ''])).message).to.include('empty');
    expect((await attempt(['n1', 'n1'])).message).to.include('twice');
    expect((await attempt(['n 1'])).message).to.include('not a node id');
    expect((await attempt(['n1;rm'])).message).to.include('not a node id');
    expect((await attempt(['ca'])).message).to.include('ca.pem');
    expect((await attempt(['client'])).message).to.include('client.pem');
    expect((await attempt(['n1', 'n1-key'])).message).to.include('n1-key.pem');
    expect((await attempt(['n1'], ['bad host'])).message).to.include('--hosts');
    expect((await attempt(['n1'], ['a..b'])).message).to.include('--hosts');
    expect((await attempt(['n1'], [], 0)).message).to.include('--days');
    expect(() => statSync(dir), 'nothing is written when refused').to.throw();
  });

  describe('a real mTLS handshake with node n1 as the server', () => {
    let server: tls.Server;
    let port: number;
    const accepted: tls.TLSSocket[] = [];

    before(async () => {
      server = tls.createServer(
        {
          key: readFileSync(files.nodes.n1!.key),
          cert: readFileSync(files.nodes.n1!.cert),
          ca: readFileSync(files.ca.cert),
          requestCert: true,
          rejectUnauthorized: true,
        },
        (socket) => {
          accepted.push(socket);
          socket.end('hello');
        },
      );
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      port = (server.address() as AddressInfo).port;
    });

    after(() => server.close());

    async function handshake(cert: string, key: string): Promise<{ authorized: boolean; data: string }> {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        ca: readFileSync(files.ca.cert),
        cert: readFileSync(cert),
        key: readFileSync(key),
      });
      try {
        await once(socket, 'secureConnect');
        let data = '';
        socket.on('data', (d: Buffer) => (data += d.toString()));
        await once(socket, 'end');
        return { authorized: socket.authorized, data };
      } finally {
        socket.destroy();
      }
    }

    it('accepts the client certificate, and the server certificate checks out for 127.0.0.1', async () => {
      const r = await handshake(files.client.cert, files.client.key);
      expect(r).to.deep.equal({ authorized: true, data: 'hello' });
      const peer = accepted.at(-1)!;
      expect(peer.authorized).to.equal(true);
      expect(peer.getPeerCertificate().subject.CN).to.equal('client');
    });

    it("accepts node n2's certificate as a peer's client certificate", async () => {
      const r = await handshake(files.nodes.n2!.cert, files.nodes.n2!.key);
      expect(r).to.deep.equal({ authorized: true, data: 'hello' });
      expect(accepted.at(-1)!.getPeerCertificate().subject.CN).to.equal('n2');
    });

    it('refuses a client certificate from another CA', async () => {
      const other = await makeCerts({
        out: path.join(tmp, 'other'),
        nodes: ['x'],
        hosts: [],
        days: 1,
        force: false,
      });
      const seen = accepted.length;
      const refused = once(server, 'tlsClientError') as Promise<[Error]>;
      // With TLS 1.3 the client may finish its side before the server reads (and refuses) its
      // certificate: the refusal is the server's error and a connection that carries no data.
      const outcome = handshake(other.client.cert, other.client.key).then(
        (r) => r,
        (e: unknown) => e as Error,
      );
      // Node's server verifies the certificate, then drops the connection without a TLS alert: the
      // error it reports is the hang-up ("socket hang up"), not the reason.
      const [serverErr] = await refused;
      expect(serverErr).to.be.instanceOf(Error);
      const r = await outcome;
      if (!(r instanceof Error)) expect(r.data).to.equal('');
      expect(accepted.length).to.equal(seen);
    });
  });

  describe('the CLI', () => {
    it('makes the files, prints the tls block, and refuses a second run without --force', async () => {
      const dir = path.join(tmp, 'cli');
      const first = await run(['certs', '--out', dir, '--nodes', 'n1,n2']);
      expect(first.code, first.stderr).to.equal(0);
      expect(first.stdout).to.include(
        [
          'cluster:',
          '  tls:',
          `    ca: ${dir}/ca.pem`,
          `    cert: ${dir}/{id}.pem`,
          `    key: ${dir}/{id}-key.pem`,
          '    client_auth: require',
        ].join('\n'),
      );
      expect(first.stdout).to.include(
        `--tls-ca ${dir}/ca.pem --tls-cert ${dir}/client.pem --tls-key ${dir}/client-key.pem`,
      );
      expect(first.stdout).to.include(
        `buf curl --cacert ${dir}/ca.pem --cert ${dir}/client.pem --key ${dir}/client-key.pem`,
      );
      // The block pastes into cluster.yml as it is.
      const block = first.stdout.slice(first.stdout.indexOf('cluster:\n')).split('\n\n')[0]!;
      expect(parseYaml(block)).to.deep.equal({
        cluster: {
          tls: {
            ca: `${dir}/ca.pem`,
            cert: `${dir}/{id}.pem`,
            key: `${dir}/{id}-key.pem`,
            client_auth: 'require',
          },
        },
      });
      for (const f of [
        'ca.pem',
        'ca-key.pem',
        'n1.pem',
        'n1-key.pem',
        'n2.pem',
        'n2-key.pem',
        'client.pem',
      ]) {
        expect(statSync(path.join(dir, f)).isFile(), f).to.equal(true);
      }

      const second = await run(['certs', '--out', dir, '--nodes', 'n1,n2']);
      // A config error: exit code 2, as for every CONFIG_INVALID error of the CLI.
      expect(second.code).to.equal(2);
      expect(second.stderr).to.match(/^ringcache: .*ca\.pem already exists; pass --force/);
      expect(second.stderr).to.not.match(/^\s+at /m);

      const forced = await run(['certs', '--out', dir, '--nodes', 'n1', '--force']);
      expect(forced.code, forced.stderr).to.equal(0);
    });

    it('says in its help that it is for trying TLS locally', async () => {
      const help = await run(['certs', '--help']);
      expect(help.code).to.equal(0);
      expect(help.stdout).to.include('for trying TLS locally');
      expect(help.stdout).to.include('cert-manager');
      expect(help.stdout).to.include('client_auth: require');
    });
  });
});
