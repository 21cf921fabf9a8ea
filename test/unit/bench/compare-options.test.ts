import { expect } from 'chai';
import { parseOptions, USAGE } from '../../../bench/compare/options';

describe('bench:compare flags', () => {
  it('answers --help with nothing to run (the caller prints the usage, which names every flag)', () => {
    expect(parseOptions(['--help'])).to.equal(undefined);
    expect(parseOptions(['--systems', 'redis', '-h'])).to.equal(undefined);
    for (const flag of ['--systems', '--concurrency', '--seconds', '--memory-keys', '--smoke', '--out'])
      expect(USAGE).to.include(flag);
  });

  it('refuses a flag it does not take, naming it, rather than start a run of minutes', () => {
    expect(() => parseOptions(['--sytems', 'redis'])).to.throw(/unknown argument '--sytems'/);
    expect(() => parseOptions(['redis'])).to.throw(/unknown argument 'redis'/);
  });

  it('reads every flag with its value, and --smoke among them', () => {
    const opts = parseOptions([
      '--smoke',
      '--systems',
      'redis,ringcache-n1',
      '--concurrency',
      '8,32',
      '--seconds',
      '2',
      '--out',
      '/tmp/x',
    ]);
    expect(opts).to.deep.include({ smoke: true, seconds: 2, concurrencies: [8, 32], outDir: '/tmp/x' });
    expect(opts?.systems).to.deep.equal(['ringcache-n1', 'redis']);
  });
});
