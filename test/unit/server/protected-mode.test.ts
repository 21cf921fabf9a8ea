import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NodeConfig } from '../../../src/config/types';
import { RingCacheError } from '../../../src/errors';
import { METADATA } from '../../../src/proto/messages';
import { hasClusterToken } from '../../../src/server/cluster-token-guard';
import { checkProtected, isLoopbackHost } from '../../../src/server/protected-mode';
import { clusterTokenFromEnv } from '../../../src/transport/cluster-token';

const node = (host: string, listen?: string): NodeConfig => ({
  id: 'n1',
  address: `${host}:7401`,
  host,
  port: 7401,
  http: `${host}:9401`,
  httpHost: host,
  httpPort: 9401,
  ...(listen ? { listen: { host: listen, port: 7401, text: `${listen}:7401` } } : {}),
});

describe('protected mode', () => {
  const table: [string, boolean][] = [
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['localhost', true],
    ['LOCALHOST', true],
    ['::1', true],
    ['[::1]', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.5', false],
    ['128.0.0.1', false],
    ['node-1.cache.svc', false],
    ['localhost.example.com', false],
  ];
  for (const [host, loopback] of table) {
    it(`takes ${host} for ${loopback ? 'loopback' : 'reachable from the network'}`, () => {
      expect(isLoopbackHost(host)).to.equal(loopback);
    });
  }

  it('refuses a node that listens beyond loopback without a secret, saying what to set', () => {
    const err = (() => {
      try {
        checkProtected(node('10.0.0.5', '0.0.0.0'), undefined);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).to.be.instanceOf(RingCacheError);
    expect((err as RingCacheError).code).to.equal('CONFIG_INVALID');
    expect((err as RingCacheError).message).to.match(
      /0\.0\.0\.0:7401.*RINGCACHE_CLUSTER_TOKEN or RINGCACHE_CLUSTER_TOKEN_FILE/,
    );
  });

  it('judges the address the node binds, not the one it is dialled at', () => {
    expect(() => checkProtected(node('10.0.0.5', '127.0.0.1'), undefined)).to.not.throw();
    expect(() => checkProtected(node('127.0.0.1', '0.0.0.0'), undefined)).to.throw(/no cluster secret/);
  });

  it('lets a node with a secret listen anywhere, and one on loopback without', () => {
    expect(() => checkProtected(node('0.0.0.0'), 'secret')).to.not.throw();
    expect(() => checkProtected(node('127.0.0.1'), undefined)).to.not.throw();
  });
});

describe('the cluster secret from the environment', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'token-test-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the file RINGCACHE_CLUSTER_TOKEN_FILE names, without its trailing line break', () => {
    const file = path.join(dir, 'token');
    writeFileSync(file, 's3cret\n');
    expect(clusterTokenFromEnv({ RINGCACHE_CLUSTER_TOKEN_FILE: file })).to.equal('s3cret');
  });

  it('reads RINGCACHE_CLUSTER_TOKEN, and takes an empty one for unset', () => {
    expect(clusterTokenFromEnv({ RINGCACHE_CLUSTER_TOKEN: 'abc' })).to.equal('abc');
    expect(clusterTokenFromEnv({ RINGCACHE_CLUSTER_TOKEN: '' })).to.equal(undefined);
    expect(clusterTokenFromEnv({})).to.equal(undefined);
  });

  it('refuses both set, a file that cannot be read and an empty file, naming the variable', () => {
    const file = path.join(dir, 'token');
    writeFileSync(file, '\n');
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ RINGCACHE_CLUSTER_TOKEN_FILE: file, RINGCACHE_CLUSTER_TOKEN: 'x' }, /both .* are set/],
      [{ RINGCACHE_CLUSTER_TOKEN_FILE: path.join(dir, 'absent') }, /cannot be read \(ENOENT\)/],
      [{ RINGCACHE_CLUSTER_TOKEN_FILE: file }, /is empty/],
    ];
    for (const [env, message] of cases) {
      expect(() => clusterTokenFromEnv(env), message.source).to.throw(RingCacheError, message);
    }
  });
});

describe('the cluster secret check', () => {
  const with_ = (token?: string) => {
    const md = new grpc.Metadata();
    if (token !== undefined) md.set(METADATA.clusterToken, token);
    return md;
  };

  it('takes the secret itself and nothing else: not a prefix, a longer one, another or none', () => {
    expect(hasClusterToken(with_('the-secret'), 'the-secret')).to.equal(true);
    for (const sent of ['the-secre', 'the-secret!', 'THE-SECRET', '', undefined]) {
      expect(hasClusterToken(with_(sent), 'the-secret'), String(sent)).to.equal(false);
    }
  });

  it('lets every call through on a cluster without a secret', () => {
    expect(hasClusterToken(with_(), undefined)).to.equal(true);
  });
});
