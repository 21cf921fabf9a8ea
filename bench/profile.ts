/**
 * `npm run bench:profile`: where the CPU goes (bench/cpu-profile.ts), written to
 * bench/results/profile.md with a table per process.
 * Flags: --seconds S (default 8) --concurrency C (64) --keys K (100000) --factor N (1) --read-quorum R (1)
 *        --top T (15)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { profileIntro, profileSdk, selfTimeMarkdown } from './cpu-profile';
import { flag } from './flags';

async function main(): Promise<void> {
  const seconds = Number(flag('seconds', '8'));
  const concurrency = Number(flag('concurrency', '64'));
  const factor = Number(flag('factor', '1'));
  const readQuorum = Number(flag('read-quorum', '1'));
  const p = await profileSdk({
    seconds,
    concurrency,
    keys: Number(flag('keys', '100000')),
    factor,
    readQuorum,
    top: Number(flag('top', '15')),
    onProgress: (s) => process.stderr.write(`\r\x1b[K${s}`),
  });
  process.stderr.write('\r\x1b[K');
  const md = [
    `# CPU profile: SDK against 3 nodes (N=${factor}${readQuorum > 1 ? `, R=${readQuorum}` : ''})`,
    '',
    `${new Date().toISOString()}, \`npm run bench:profile -- --seconds ${seconds} --concurrency ${concurrency} --factor ${factor}${readQuorum > 1 ? ` --read-quorum ${readQuorum}` : ''}\`. ` +
      profileIntro(p),
    '',
    selfTimeMarkdown(p.client),
    selfTimeMarkdown(p.nodesSummed),
    ...p.nodes.map((t) => selfTimeMarkdown(t)),
  ].join('\n');
  const out = path.resolve(__dirname, '../../bench/results');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'profile.md'), md);
  console.log(md);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
