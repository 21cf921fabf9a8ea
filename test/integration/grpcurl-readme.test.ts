import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TestCluster } from '../support/cluster';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');
const BUF = path.join(ROOT, 'node_modules/.bin/buf');

/** The commands of the README's fenced block that follows `marker` (one per line, `$` prompts cut). */
function readmeCommands(marker: string): string[] {
  const text = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const at = text.indexOf(marker);
  expect(at, `README has ${marker}`).to.be.above(-1);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(at))![1]!;
  return block.split('\n').filter((l) => l.trim() !== '');
}

/** Splits a shell command line: words, and single-quoted strings as one word. */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** The buf curl twin of a README grpcurl command (what the README's second block must say). */
export function bufTwin(grpcurl: string): string {
  const w = words(grpcurl)
    .slice(1)
    .filter((x) => x !== '-plaintext');
  let data: string | undefined;
  const d = w.indexOf('-d');
  if (d >= 0) [, data] = w.splice(d, 2);
  const [address, what, symbol] = w;
  const base = `buf curl --protocol grpc --http2-prior-knowledge`;
  if (what === 'list') return `${base} --list-services http://${address}`;
  if (what === 'describe') return `${base} --list-methods http://${address}  # the methods of ${symbol}`;
  return `${base}${data ? ` -d '${data}'` : ''} http://${address}/${what}`;
}

// Issue 12 §5: on bbf0d18 `buf curl` (a Go reflection client, like grpcurl) failed at once with
// 'failed to find service named "grpc.health.v1.Health" in schema': the served health descriptor
// was invalid to a strict descriptor pool.
describe("the README's grpcurl section, run with buf curl (issue 12 §5)", function () {
  this.timeout(60_000);
  let t: TestCluster;
  const grpcurl = readmeCommands('## grpcurl');
  const twins = readmeCommands('The same with `buf curl`');

  before(async () => {
    t = await TestCluster.start({ nodes: 3 });
    // The README's Get reads what its Set writes: stored here too, at ALL, so that each command runs
    // on its own and the Get, at R=1 on any node, finds it (W + R > N).
    const cache = await t.client();
    await cache.set('greeting', 'hello', { consistency: 'all' });
  });
  after(() => t?.stop());

  it('shows each grpcurl command with its buf curl twin', () => {
    expect(twins).to.deep.equal(grpcurl.map(bufTwin));
  });

  const expected: RegExp[] = [
    /ringcache\.v1\.Cache\ngrpc\.health\.v1\.Health|grpc\.health\.v1\.Health[\s\S]*ringcache\.v1\.Cache/,
    /ringcache\.v1\.Cache\/Get\n/,
    /grpc\.health\.v1\.Health\/Check\n/,
    /"stored": true/,
    /"text": "hello"/,
    /"status": "SERVING"/,
    /"members": \[/,
  ];
  for (let i = 0; i < expected.length; i++) {
    it(`runs README command ${i + 1} as buf curl against a live node`, async () => {
      const line = twins[i]!.replace(/\s+#.*$/, '');
      // The README's addresses are those of `npm start` (7401..7403): here, the test cluster's.
      const args = words(line)
        .slice(2)
        .map((a) => a.replace(/127\.0\.0\.1:740(\d)/, (_, n: string) => t.address(`n${n}`)));
      const { stdout } = await run(BUF, ['curl', ...args], { timeout: 20_000 });
      expect(stdout).to.match(expected[i]!);
    });
  }
});
