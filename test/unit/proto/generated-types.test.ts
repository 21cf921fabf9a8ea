import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../../..');
const COMMITTED = path.join(ROOT, 'src/proto/generated');

function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full, `${prefix}${name}/`) : [`${prefix}${name}`];
  });
}

describe('the generated message types (src/proto/generated)', function () {
  this.timeout(30_000);

  it('are what `npm run proto:types` makes from proto/ today', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'ringcache-gen-'));
    try {
      const script = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      };
      const args = script.scripts['proto:types']!.split(' ').slice(1);
      const outDir = args.findIndex((a) => a.startsWith('--outDir='));
      args[outDir] = `--outDir=${out}`;
      const bin = path.join(ROOT, 'node_modules/@grpc/proto-loader/build/bin/proto-loader-gen-types.js');
      execFileSync(process.execPath, [bin, ...args], { cwd: ROOT, stdio: 'pipe' });
      const fresh = filesUnder(out).sort();
      expect(filesUnder(COMMITTED).sort(), 'run npm run proto:types').to.deep.equal(fresh);
      for (const file of fresh) {
        const committed = readFileSync(path.join(COMMITTED, file), 'utf8');
        expect(committed, `${file} is stale: run npm run proto:types`).to.equal(
          readFileSync(path.join(out, file), 'utf8'),
        );
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
