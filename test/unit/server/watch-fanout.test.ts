import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { silentLogger } from '../../../src/observability/logger';
import type { WatchEventMsg } from '../../../src/proto/messages';
import { watchService } from '../../../src/server/watch-service';
import type { ChangeListener } from '../../../src/store/change-feed';

/** A Watch call that takes every event at once, and keeps them. */
class FakeCall extends EventEmitter {
  readonly request = { prefix: '' };
  readonly events: WatchEventMsg[] = [];
  write(event: WatchEventMsg, done: () => void): boolean {
    this.events.push(event);
    done();
    return true;
  }
  end(): void {
    this.emit('close');
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('Watch fan-out', () => {
  it('writes a burst of changes to many watchers a bounded number of events per turn, each stream in order', async () => {
    let listeners: ChangeListener[] = [];
    const service = watchService({
      selfId: 'n1',
      listen: (l) => {
        listeners.push(l);
        return () => (listeners = listeners.filter((x) => x !== l));
      },
      maxKeyBytes: 250,
      maxOutputBufferBytes: 1 << 30,
      maxWatchers: 1000,
      logger: silentLogger(),
    });
    const calls = Array.from({ length: 200 }, () => new FakeCall());
    for (const call of calls) service.Watch(call as never);
    await turn();
    expect(
      calls.every((c) => c.events.length === 1),
      'each confirmed',
    ).to.equal(true);
    // A SetMany of 1,000 keys: 200,000 events, all queued in the one turn the writes take.
    const version = { timestamp: 1, node: 'n1' };
    for (let i = 0; i < 1000; i++) for (const l of listeners) l(`k${i}`, 'set', version);
    const written = () => calls.reduce((n, c) => n + c.events.length - 1, 0);
    expect(written(), 'written in the turn of the writes').to.equal(0);
    await turn();
    const first = written();
    expect(first, 'written in the next turn')
      .to.be.above(0)
      .and.at.most(1000 + 200 * 16);
    let turns = 1;
    while (written() < 200_000) {
      await turn();
      if (++turns > 1000) expect.fail(`only ${written()} written after ${turns} turns`);
    }
    expect(turns, 'turns it took').to.be.at.least(100);
    for (const c of calls)
      expect(c.events.map((e) => e.sequence)).to.deep.equal(Array.from({ length: 1001 }, (_, i) => i));
    expect(service.bufferedBytes).to.equal(0);
    service.endWatches();
  });
});
