import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isRingCacheError } from '../../../src/errors';
import { parseConfig, withPathsFrom } from '../../../src/config/load';

const NODES = `nodes:
  - { id: n1, address: 127.0.0.1:7401, http: 127.0.0.1:9401 }
`;
const DIGEST = createHash('sha256').update('secret').digest('hex');

/** The CONFIG_INVALID message parseConfig throws for this text. */
function problems(text: string): string {
  try {
    parseConfig(`${text}\n${NODES}`, 'cluster.yml');
  } catch (err) {
    expect(isRingCacheError(err, 'CONFIG_INVALID'), String(err)).to.equal(true);
    return (err as Error).message;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('cluster.yml auth.users and cluster.reflection', () => {
  it('reads users with a digest, a token file or a certificate name, and each role', () => {
    const config = parseConfig(
      [
        'cluster: { reflection: false }',
        'auth:',
        '  users:',
        `    - { name: app, role: write, token_sha256: ${DIGEST} }`,
        '    - { name: ops, role: admin, token_file: secrets/ops.token }',
        '    - { name: dash, role: read, cert: dashboard.example.com }',
        NODES,
      ].join('\n'),
      'cluster.yml',
    );
    expect(config.reflection).to.equal(false);
    expect(config.auth?.users).to.deep.equal([
      { name: 'app', role: 'write', tokenSha256: DIGEST },
      { name: 'ops', role: 'admin', tokenFile: 'secrets/ops.token' },
      { name: 'dash', role: 'read', cert: 'dashboard.example.com' },
    ]);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ringcache-auth-'));
    try {
      expect(withPathsFrom(config, dir).auth?.users[1]?.tokenFile).to.equal(
        path.join(dir, 'secrets/ops.token'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves auth unset and reflection on when they are left out', () => {
    const config = parseConfig(NODES, 'cluster.yml');
    expect(config.auth).to.equal(undefined);
    expect(config.reflection).to.equal(undefined);
  });

  it('refuses a user with no credential, two credentials, or a token where its digest goes', () => {
    const message = problems(
      [
        'auth:',
        '  users:',
        '    - { name: a, role: read }',
        `    - { name: b, role: read, token_sha256: ${DIGEST}, cert: b }`,
        '    - { name: c, role: write, token_sha256: hunter2 }',
      ].join('\n'),
    );
    expect(message).to.match(
      /auth\.users\[0\]: needs exactly one of token_sha256, token_file or cert \(has 0\)/,
    );
    expect(message).to.match(/auth\.users\[1\]: needs exactly one of .* \(has 2\)/);
    expect(message).to.match(/auth\.users\[2\]\.token_sha256: must be a SHA-256 in hex/);
  });

  it('refuses a role that is not read, write or admin', () => {
    expect(problems('auth:\n  users:\n    - { name: d, role: root, cert: d }')).to.match(
      /auth\.users\[0\]\.role: .*read.*write.*admin/,
    );
  });

  it('refuses two users of one name or of one credential', () => {
    const message = problems(
      [
        'auth:',
        '  users:',
        `    - { name: a, role: read, token_sha256: ${DIGEST} }`,
        `    - { name: a, role: admin, token_sha256: ${DIGEST.toUpperCase()} }`,
      ].join('\n'),
    );
    expect(message).to.match(/auth\.users\[1\]\.name: "a" is listed twice/);
    expect(message).to.match(/auth\.users\[1\]: has the same credential as user a/);
  });

  it('refuses an auth section without users', () => {
    expect(problems('auth: {}')).to.match(/auth\.users/);
  });
});
