import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');

/** What `npm pack` would put in the published package (no scripts run). */
function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
}

/** The package's own modules and the packages a fresh process has loaded after `require(entry)`. */
function loadedBy(entry: string): { ours: string[]; packages: string[] } {
  const script = `
    require(${JSON.stringify(entry)});
    const loaded = Object.keys(require.cache);
    const ours = loaded.filter((f) => f.includes('/dist/src/')).map((f) => f.split('/dist/src/')[1]);
    const packages = [...new Set(loaded.filter((f) => f.includes('/node_modules/')).map((f) => {
      const parts = f.split('/node_modules/').pop().split('/');
      return parts[0].startsWith('@') ? parts[0] + '/' + parts[1] : parts[0];
    }))];
    process.stdout.write(JSON.stringify({ ours, packages }));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' })) as {
    ours: string[];
    packages: string[];
  };
}

describe('the published package', function () {
  this.timeout(60_000);
  let files: string[];
  before(() => (files = packedFiles()));

  it('ships its licence, README, protos and built sources, and no tests or benchmarks', () => {
    expect(files).to.include.members(['LICENSE', 'README.md', 'package.json', 'dist/src/index.js']);
    expect(files.filter((f) => f.startsWith('proto/')).length).to.be.greaterThan(0);
    expect(files.filter((f) => /^dist\/(test|bench)\//.test(f))).to.deep.equal([]);
    expect(files.filter((f) => f.startsWith('src/'))).to.deep.equal([]);
  });

  it('carries in every source map the sources it names, so no map points at a file the package lacks', () => {
    const maps = files.filter((f) => f.endsWith('.js.map'));
    expect(maps.length).to.be.greaterThan(0);
    const incomplete = maps.filter((f) => {
      const map = JSON.parse(readFileSync(path.join(ROOT, f), 'utf8')) as {
        sources: string[];
        sourcesContent?: (string | null)[];
      };
      return map.sources.some((_, i) => typeof map.sourcesContent?.[i] !== 'string');
    });
    expect(incomplete).to.deep.equal([]);
  });

  it("leaves OpenTelemetry's exporter out of what an SDK user installs (optional peer dependencies)", () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    expect(Object.keys(pkg.dependencies).filter((d) => d.startsWith('@opentelemetry/'))).to.deep.equal([]);
    for (const peer of Object.keys(pkg.peerDependencies))
      expect(pkg.peerDependenciesMeta[peer]?.optional, peer).to.equal(true);
  });

  it('loads no server code when an application imports the SDK', () => {
    const { ours, packages } = loadedBy(path.join(ROOT, 'dist/src/index.js'));
    expect(ours.filter((f) => /^(server|cluster|cli|config|store)\//.test(f))).to.deep.equal([]);
    const serverOnly = [
      'pino',
      'prom-client',
      'yaml',
      'commander',
      'uplot',
      '@grpc/reflection',
      'grpc-health-check',
    ];
    expect(packages.filter((p) => serverOnly.includes(p) || p.startsWith('@opentelemetry/'))).to.deep.equal(
      [],
    );
  });
});
