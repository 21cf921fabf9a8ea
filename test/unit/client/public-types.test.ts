import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../../../..');

/** The README's first SDK example (the ```js block after "## The SDK"), as users copy it. */
function readmeExample(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const from = readme.indexOf('## The SDK');
  const m = /```js\n([\s\S]*?)```/.exec(readme.slice(from));
  if (!m) throw new Error('README has no ```js block after "## The SDK"');
  return m[1]!;
}

/** A typed view used right, the Keyv adapter imported by its subpath, and the public types. */
const TYPED = `
import type { CacheEntry, ClusterInfo, RingCacheStatus } from 'ringcache';
import { KeyvRingCache } from 'ringcache/keyv';
interface User { name: string; langs: string[] }
export async function typed(cache: RingCache): Promise<string | undefined> {
  const users = cache.typed<User>();
  await users.set('user:2', { name: 'Grace', langs: ['en'] });
  const entry: CacheEntry<User> | undefined = await users.getEntry('user:2');
  const loaded: User = await users.getOrSet('user:3', () => ({ name: 'Edsger', langs: ['nl'] }));
  const status: RingCacheStatus = cache.status;
  const info: ClusterInfo = cache.cluster;
  void new KeyvRingCache({ seeds: ['127.0.0.1:7401'], keyPrefix: 'app:' });
  return entry?.value.name ?? loaded.name + status + info.epoch;
}
`;

/** What must not compile: a value of the wrong shape written through a typed view. */
const MISTAKE = `
interface User { name: string }
export async function wrong(cache: RingCache): Promise<void> {
  await cache.typed<User>().set('user:2', { nmae: 'typo' });
}
`;

/**
 * Compiles `files` in a fresh project whose node_modules holds this package as users install it
 * (its package.json, exports and typesVersions) and @types/node; returns the diagnostics' texts.
 */
function compile(dir: string, options: ts.CompilerOptions, files: Record<string, string>): string[] {
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  const program = ts.createProgram(
    Object.keys(files).map((f) => path.join(dir, f)),
    { strict: true, noEmit: true, skipLibCheck: true, types: ['node'], ...options },
  );
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (d) =>
        `${d.file ? path.basename(d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
    );
}

describe('the public types, as a TypeScript user compiles against them', function () {
  this.timeout(120_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ringcache-types-'));
    mkdirSync(path.join(dir, 'node_modules/@types'), { recursive: true });
    symlinkSync(ROOT, path.join(dir, 'node_modules/ringcache'), 'dir');
    symlinkSync(
      path.join(ROOT, 'node_modules/@types/node'),
      path.join(dir, 'node_modules/@types/node'),
      'dir',
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('compile the README example and a typed view as ESM (module nodenext)', () => {
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    const errors = compile(
      dir,
      {
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        target: ts.ScriptTarget.ES2022,
      },
      {
        'example.mts': `${readmeExample()}\nexport {};\n`,
        'typed.mts': `import { RingCache } from 'ringcache';\n${TYPED}`,
      },
    );
    expect(errors).to.deep.equal([]);
  });

  it('compile them as CommonJS with the oldest module resolution (node10), ringcache/keyv included', () => {
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'commonjs' }));
    const errors = compile(
      dir,
      {
        module: ts.ModuleKind.CommonJS,
        moduleResolution: ts.ModuleResolutionKind.Node10,
        target: ts.ScriptTarget.ES2022,
      },
      {
        // CommonJS has no top-level await: the example runs inside a function, as such apps do.
        'example.ts': `import { RingCache } from 'ringcache';\nexport async function main(): Promise<void> {\n${readmeExample().replace(/^import .*\n/m, '')}}\n`,
        'typed.ts': `import { RingCache } from 'ringcache';\n${TYPED}`,
      },
    );
    expect(errors).to.deep.equal([]);
  });

  it('refuse a value of the wrong type written through a typed view', () => {
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    const errors = compile(
      dir,
      {
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        target: ts.ScriptTarget.ES2022,
      },
      { 'mistake.mts': `import { RingCache } from 'ringcache';\n${MISTAKE}` },
    );
    expect(errors.join('\n')).to.match(/mistake\.mts: .*'nmae' does not exist in type 'User'/);
  });
});
