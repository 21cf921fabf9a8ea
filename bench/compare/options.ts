import path from 'node:path';
import { RingCacheError } from '../../src/errors';

/** Every system `bench:compare` knows, in the order rows are reported. */
export const SYSTEM_IDS = ['ringcache-n1', 'ringcache-n3', 'redis', 'memcached', 'raw'] as const;
export type SystemId = (typeof SYSTEM_IDS)[number];

export interface CompareOptions {
  /** Measured seconds per point (after the warm-up). Default 10. */
  seconds: number;
  /** Seconds of load before measuring starts, so JITs, pools and caches are warm. Default 2. */
  warmupSeconds: number;
  /** Keys preloaded and drawn from uniformly. Default 100000. */
  keys: number;
  /** Runs of each (system, concurrency) point; the report gives the median. Default 3. */
  repeats: number;
  /** Operations in flight from the one client process. Default 64 and 256. */
  concurrencies: number[];
  systems: SystemId[];
  /** Keys (11 bytes) with 100-byte values loaded to measure memory per entry; 0 skips. Default 1000000. */
  memoryKeys: number;
  /** Seconds of CPU profiling of ringcache N=1 (its own pass, after the measured points); 0 skips. */
  profileSeconds: number;
  /** Where compare.{md,json,svg} go. Default bench/results of the checkout. */
  outDir: string;
  smoke: boolean;
}

const DEFAULT_OUT = path.resolve(__dirname, '../../../bench/results');

function flagValue(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--'))
    throw new RingCacheError('INVALID_ARGUMENT', `--${name} needs a value`);
  return v;
}

function positive(argv: readonly string[], name: string, fallback: number, allowZero = false): number {
  const raw = flagValue(argv, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !allowZero))
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `--${name} is ${raw}; expected a number ${allowZero ? '>= 0' : '> 0'}`,
    );
  return n;
}

function systemsOf(raw: string): SystemId[] {
  const ids = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const id of ids) {
    if (!(SYSTEM_IDS as readonly string[]).includes(id))
      throw new RingCacheError(
        'INVALID_ARGUMENT',
        `--systems names '${id}'; expected some of ${SYSTEM_IDS.join(',')}`,
      );
  }
  return SYSTEM_IDS.filter((id) => ids.includes(id));
}

/** The flags `bench:compare` takes: each with a value, but --smoke and --help. */
const VALUE_FLAGS = [
  'seconds',
  'warmup',
  'keys',
  'repeats',
  'concurrency',
  'systems',
  'memory-keys',
  'profile-seconds',
  'out',
];

/** What `--help` prints. */
export const USAGE = `node dist/bench/compare/main.js [flags]   (npm run bench:compare -- [flags])

  --systems LIST          some of ${SYSTEM_IDS.join(',')} (all)
  --concurrency LIST      operations in flight from the one client process (64,256)
  --seconds S             measured seconds per point, after the warm-up (10)
  --warmup S              seconds of load before measuring (2)
  --repeats N             runs of each point; the report gives the median (3)
  --keys N                keys preloaded and drawn from (100000)
  --memory-keys N         keys loaded to measure memory per entry; 0 skips (1000000)
  --profile-seconds S     CPU profile of ringcache N=1 after the points; 0 skips (8)
  --out DIR               where compare.{md,json,svg} go (bench/results)
  --smoke                 a short run of every system (1 s points, 1,000 keys): CI's smoke test
  --help                  this text
`;

/** Refuses a flag `bench:compare` does not take, so that a typo does not start a run of minutes. */
function checkFlags(argv: readonly string[]): void {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (name !== undefined && VALUE_FLAGS.includes(name)) i++;
    else if (arg !== '--smoke')
      throw new RingCacheError(
        'INVALID_ARGUMENT',
        `unknown argument '${arg}'; the flags are --${[...VALUE_FLAGS, 'smoke', 'help'].join(', --')}`,
      );
  }
}

/**
 * Parses the flags of `bench:compare`; `--smoke` changes the defaults, explicit flags still win.
 * Undefined for `--help` (the caller prints USAGE).
 */
export function parseOptions(argv: readonly string[]): CompareOptions | undefined {
  if (argv.includes('--help') || argv.includes('-h')) return undefined;
  checkFlags(argv);
  const smoke = argv.includes('--smoke');
  const concurrencies = (flagValue(argv, 'concurrency') ?? (smoke ? '16' : '64,256')).split(',').map(Number);
  if (concurrencies.some((c) => !Number.isInteger(c) || c < 1))
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `--concurrency is ${concurrencies.join(',')}; expected whole numbers >= 1`,
    );
  const repeats = positive(argv, 'repeats', smoke ? 1 : 3);
  const keys = positive(argv, 'keys', smoke ? 1000 : 100_000);
  const memoryKeys = positive(argv, 'memory-keys', smoke ? 10_000 : 1_000_000, true);
  if (!Number.isInteger(repeats) || !Number.isInteger(keys) || !Number.isInteger(memoryKeys))
    throw new RingCacheError('INVALID_ARGUMENT', '--repeats, --keys and --memory-keys take whole numbers');
  if (memoryKeys > 1e9)
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `--memory-keys is ${memoryKeys}; keys are 11 bytes, so at most 1e9`,
    );
  return {
    seconds: positive(argv, 'seconds', smoke ? 1 : 10),
    warmupSeconds: positive(argv, 'warmup', smoke ? 0.3 : 2, true),
    keys,
    repeats,
    concurrencies,
    systems: systemsOf(flagValue(argv, 'systems') ?? SYSTEM_IDS.join(',')),
    memoryKeys,
    profileSeconds: positive(argv, 'profile-seconds', smoke ? 1 : 8, true),
    outDir: path.resolve(flagValue(argv, 'out') ?? DEFAULT_OUT),
    smoke,
  };
}
