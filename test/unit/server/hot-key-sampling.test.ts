import { expect } from 'chai';
import type { Operation } from '../../../src/cluster/replication/operation';
import { HotKeys } from '../../../src/observability/hot-keys';
import { withHotKeySampling } from '../../../src/server/hot-key-sampling';
import type { OperationExecutor } from '../../../src/server/operation-executor';

describe('hot-key sampling in front of the executor', () => {
  const core: OperationExecutor = {
    execute: (op) => ({ kind: 'get', value: undefined, key: op.key }) as never,
    localGet: (key) => (key === 'served' ? null : undefined),
  };
  const ctx = (forwarded: boolean) => ({ forwarded, deadlineMs: Date.now() + 1000 });
  const get = (key: string): Operation => ({ kind: 'get', key, consistency: 'default' });
  const del = (key: string): Operation => ({ kind: 'delete', key, consistency: 'default' });

  it('counts gets as reads and every other operation as a write, where the client sent them', async () => {
    const hot = new HotKeys({ sampleEvery: 1 });
    const executor = withHotKeySampling(core, hot);
    await executor.execute(get('r'), ctx(false));
    await executor.execute(del('w'), ctx(false));
    await executor.execute(get('forwarded'), ctx(true));
    await executor.execute(del('forwarded'), ctx(true));
    const snap = hot.snapshot();
    expect(snap.reads.map((k) => k.key)).to.deep.equal(['r']);
    expect(snap.writes.map((k) => k.key)).to.deep.equal(['w']);
  });

  it('counts a get the local shortcut answered, and leaves one it passes on to execute()', () => {
    const hot = new HotKeys({ sampleEvery: 1 });
    const executor = withHotKeySampling(core, hot);
    expect(executor.localGet?.('served', 'default', false)).to.equal(null);
    expect(executor.localGet?.('passed-on', 'default', false)).to.equal(undefined);
    expect(executor.localGet?.('served', 'default', true)).to.equal(null);
    expect(hot.snapshot().reads).to.deep.equal([{ key: 'served', count: 1, error: 0 }]);
  });
});
