import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import type { TopologyClient } from '../../../src/client/topology-client';
import { TopologyWatch } from '../../../src/client/topology-watch';

/** A WatchTopology stream the test ends or feeds. */
class FakeWatch extends EventEmitter {
  cancel(): void {
    this.emit('error', new Error('cancelled'));
  }
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('TopologyWatch', () => {
  it('waits twice as long after each attempt that brought no map, and the first wait again once one does', async () => {
    const streams: FakeWatch[] = [];
    const asked: string[] = [];
    const client = {
      watch: (address: string) => {
        asked.push(address);
        const s = new FakeWatch();
        streams.push(s);
        return s;
      },
    } as unknown as TopologyClient;
    const watch = new TopologyWatch(
      client,
      () => ['a:1', 'b:1'],
      () => undefined,
    );
    watch.start();
    try {
      const delays: number[] = [];
      for (let i = 0; i < 3; i++) {
        await until(() => streams.length === i + 1);
        // Refused: the node holds limits.max_client_calls already.
        streams[i]!.emit('error', new Error('RESOURCE_EXHAUSTED'));
        delays.push(watch.retryDelayMs);
      }
      expect(delays).to.deep.equal([100, 200, 400]);
      expect(asked.slice(0, 3), 'each on the next address').to.deep.equal(['a:1', 'b:1', 'a:1']);
      await until(() => streams.length === 4);
      streams[3]!.emit('data', {}); // a map (malformed here, ignored): a node answered
      streams[3]!.emit('end');
      expect(watch.retryDelayMs).to.equal(100);
    } finally {
      watch.stop();
    }
  });
});
