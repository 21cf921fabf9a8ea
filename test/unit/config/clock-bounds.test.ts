import { expect } from 'chai';
import { isRingCacheError } from '../../../src/errors';
import { parseConfig } from '../../../src/config/load';

const NODES = `nodes:
  - { id: n1, address: 127.0.0.1:7401, http: 127.0.0.1:9401 }
  - { id: n2, address: 127.0.0.1:7402, http: 127.0.0.1:9402 }
`;

function problems(cluster: string): string | undefined {
  try {
    parseConfig(`cluster:\n${cluster}\n${NODES}`, 'cluster.yml');
    return undefined;
  } catch (err) {
    expect(isRingCacheError(err, 'CONFIG_INVALID'), String(err)).to.equal(true);
    return (err as Error).message;
  }
}

describe('cluster.yml bounds that depend on the clock offset', () => {
  it('defaults max_clock_offset_ms to 500 ms', () => {
    expect(parseConfig(NODES, 'cluster.yml').maxClockOffsetMs).to.equal(500);
  });

  it('takes hints that expire, with the clock offset, within the tombstone grace', () => {
    expect(
      problems('  hints: { max_age_ms: 30000 }\n  tombstone_grace_ms: 60000\n  max_clock_offset_ms: 29999'),
    ).to.equal(undefined);
  });

  it('refuses hints whose lifetime plus the clock offset reaches the tombstone grace, naming all three', () => {
    expect(
      problems('  hints: { max_age_ms: 30000 }\n  tombstone_grace_ms: 60000\n  max_clock_offset_ms: 30000'),
    ).to.match(
      /cluster\.hints\.max_age_ms: 30000 plus max_clock_offset_ms 30000 must be shorter than tombstone_grace_ms 60000/,
    );
  });

  it('refuses a tombstone grace not longer than twice the clock offset, and takes one just longer', () => {
    const hints = '  hints: { max_age_ms: 1000 }\n';
    expect(problems(`${hints}  tombstone_grace_ms: 60000\n  max_clock_offset_ms: 30000`)).to.match(
      /cluster\.tombstone_grace_ms: 60000 must be longer than twice max_clock_offset_ms 30000/,
    );
    expect(problems(`${hints}  tombstone_grace_ms: 60001\n  max_clock_offset_ms: 30000`)).to.equal(undefined);
  });

  it('refuses a clock offset that reaches the tombstone grace, hints at their default lifetime', () => {
    expect(problems('  tombstone_grace_ms: 60000\n  max_clock_offset_ms: 60000')).to.match(
      /cluster\.hints\.max_age_ms: 1 \(default\) plus max_clock_offset_ms 60000 must be shorter than tombstone_grace_ms 60000/,
    );
  });

  it('derives a default hint lifetime that fits with a large clock offset (half the grace)', () => {
    const c = parseConfig(
      `cluster:\n  tombstone_grace_ms: 60000\n  max_clock_offset_ms: 25000\n${NODES}`,
      'x.yml',
    );
    expect(c.hints.maxAgeMs).to.equal(30_000);
  });
});
