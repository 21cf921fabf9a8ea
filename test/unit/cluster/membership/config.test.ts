import { expect } from 'chai';
import { isRingCacheError } from '../../../../src/errors';
import { DEFAULT_GOSSIP_CONFIG, validateGossipConfig } from '../../../../src/cluster/membership/config';
import type { GossipConfig } from '../../../../src/cluster/membership/types';

describe('gossip config', () => {
  it('accepts the defaults', () => {
    expect(() => validateGossipConfig(DEFAULT_GOSSIP_CONFIG)).to.not.throw();
  });

  const bad: [Partial<GossipConfig>, string][] = [
    [{ probeIntervalMs: 0 }, 'gossip.probeIntervalMs is 0'],
    [{ probeTimeoutMs: -5 }, 'gossip.probeTimeoutMs is -5'],
    [{ suspicionTimeoutMs: Number.NaN }, 'gossip.suspicionTimeoutMs is NaN'],
    [{ indirectProbes: 1.5 }, 'gossip.indirectProbes is 1.5'],
    [{ indirectProbes: -1 }, 'gossip.indirectProbes is -1'],
  ];
  for (const [patch, message] of bad) {
    it(`rejects ${JSON.stringify(patch)} with CONFIG_INVALID naming the field`, () => {
      try {
        validateGossipConfig({ ...DEFAULT_GOSSIP_CONFIG, ...patch });
        expect.fail('should have thrown');
      } catch (err) {
        expect(isRingCacheError(err, 'CONFIG_INVALID')).to.equal(true);
        expect((err as Error).message).to.contain(message);
      }
    });
  }
});
