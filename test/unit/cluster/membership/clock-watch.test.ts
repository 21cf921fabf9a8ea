import { expect } from 'chai';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { ClockWatch } from '../../../../src/cluster/membership/clock-watch';
import { PeerGossip } from '../../../../src/cluster/membership/peer-gossip';
import type { Ping, PeerTransport, PingReply } from '../../../../src/cluster/peer-transport';

/** A logger that keeps every line it writes, parsed. */
function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** Lets the pino stream write what was logged. */
const flushed = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('a clock watch', () => {
  function watch(live: string[]) {
    const { logger, lines } = capturingLogger();
    const clock = new ClockWatch({ selfId: 'a', maxClockOffsetMs: 500, livePeers: () => live, logger });
    const changes: boolean[] = [];
    clock.onChange((inBounds) => changes.push(inBounds));
    return { clock, lines, changes };
  }

  it('takes writes at 250 ms from every peer, half the bound, and refuses past it', () => {
    const { clock } = watch(['b', 'c']);
    clock.sampled('b', 100_000, 100_002, 100_001 + 250);
    clock.sampled('c', 100_000, 100_002, 100_001 + 250);
    expect(clock.inBounds, 'at 250 ms').to.equal(true);
    clock.sampled('b', 101_000, 101_002, 101_001 + 252);
    clock.sampled('c', 101_000, 101_002, 101_001 + 252);
    expect(
      clock.inBounds,
      'at 252 ms ±1: no quicker than the 250 ms ±1 held, so not believed over it',
    ).to.equal(true);
    clock.sampled('b', 102_000, 102_000, 102_000 + 260);
    clock.sampled('c', 102_000, 102_000, 102_000 + 260);
    expect(clock.inBounds, 'at 260 ms ±0').to.equal(false);
  });

  it('takes writes until most live peers are measured beyond the bound, then refuses with UNAVAILABLE naming bound and offsets', async () => {
    const { clock, lines, changes } = watch(['b', 'c']);
    clock.sampled('b', 100_000, 100_002, 100_001 - 2000); // b's clock 2 s behind ours
    expect(clock.refusal, 'one of two peers beyond').to.equal(undefined);
    clock.sampled('c', 100_000, 100_002, 100_001 - 2100);
    const refusal = clock.refusal;
    expect(refusal?.code).to.equal('UNAVAILABLE');
    expect(refusal?.message).to.match(
      /half of cluster\.max_clock_offset_ms \(500 ms\) from 2 of its 2 live peers/,
    );
    expect(refusal?.message).to.match(/b -2000 ms ±1, c -2100 ms ±1/);
    expect(clock.inBounds).to.equal(false);
    expect(changes).to.deep.equal([false]);
    await flushed();
    const warns = lines.filter((l) => l.level === 40);
    expect(warns, 'one warn line on entering').to.have.length(1);
    expect(warns[0]?.msg).to.match(/refusing writes and reporting not serving/);
  });

  it('logs once per change, not once per sample', async () => {
    const { clock, lines, changes } = watch(['b', 'c']);
    for (let t = 0; t < 5; t++) {
      clock.sampled('b', t * 1000, t * 1000 + 2, t * 1000 + 1 + 2000);
      clock.sampled('c', t * 1000, t * 1000 + 2, t * 1000 + 1 + 2000);
    }
    await flushed();
    expect(lines.filter((l) => l.level === 40)).to.have.length(1);
    expect(changes).to.deep.equal([false]);
  });

  it('serves writes again once the quick samples say the clocks agree, with one warn line', async () => {
    const { clock, lines, changes } = watch(['b', 'c']);
    clock.sampled('b', 0, 2, 1 + 2000);
    clock.sampled('c', 0, 2, 1 + 2000);
    expect(clock.inBounds).to.equal(false);
    // This node's clock was set right: five rounds of agreeing samples push the old ones out.
    for (let t = 1; t <= 5; t++) {
      clock.sampled('b', t * 1000, t * 1000 + 2, t * 1000 + 1);
      clock.sampled('c', t * 1000, t * 1000 + 2, t * 1000 + 1);
    }
    expect(clock.inBounds).to.equal(true);
    expect(clock.refusal).to.equal(undefined);
    expect(changes).to.deep.equal([false, true]);
    await flushed();
    const warns = lines.filter((l) => l.level === 40);
    expect(warns).to.have.length(2);
    expect(warns[1]?.msg).to.match(/back within half of cluster\.max_clock_offset_ms/);
  });

  it('forgets a peer that died, and judges again without it', () => {
    const live = ['b', 'c'];
    const { clock } = watch(live);
    clock.sampled('b', 0, 2, 1 + 2000);
    clock.sampled('c', 0, 2, 1);
    expect(clock.inBounds).to.equal(true);
    live.splice(live.indexOf('c'), 1);
    clock.forget('c');
    expect(clock.inBounds, 'b alone disagrees: neither can tell which is wrong').to.equal(false);
  });

  it('keeps nothing from an ack that carries no wall clock', () => {
    const { clock } = watch(['b']);
    clock.sampled('b', 0, 2, 0);
    expect(clock.offsets.estimate('b')).to.equal(undefined);
    expect(clock.inBounds).to.equal(true);
  });
});

describe('gossip pings', () => {
  it("measure the peer's wall clock against this node's, read when the ping left and when its ack came", async () => {
    let nowMs = 10_000;
    const reply: PingReply = { updates: [], ringEpoch: 1, wallClockMs: 12_004 };
    const transport = {
      ping: (_to: string, _ping: Ping): Promise<PingReply> => {
        nowMs += 8; // the round trip
        return Promise.resolve(reply);
      },
    } as unknown as PeerTransport;
    const samples: number[][] = [];
    const gossip = new PeerGossip('a', transport, 1000, {
      epoch: () => 1,
      digest: () => 0,
      onRingSeen: () => undefined,
      now: () => nowMs,
      onPeerWallClock: (peer, sentAtMs, ackedAtMs, wallMs) => samples.push([sentAtMs, ackedAtMs, wallMs]),
    });
    await gossip.ping('b', [], new AbortController().signal);
    expect(samples).to.deep.equal([[10_000, 10_008, 12_004]]);
  });
});
