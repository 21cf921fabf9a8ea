import { expect } from 'chai';
import { ReadTurns } from '../../../src/server/read-turns';

describe('ReadTurns (large GetMany replies read in turns)', () => {
  it('reads one reply after another, one step per turn, and lets the loop run between steps', async () => {
    const turns = new ReadTurns();
    const seen: string[] = [];
    const reply = (name: string, steps: number) => {
      let left = steps;
      return () => {
        seen.push(`${name}${steps - left + 1}`);
        // What the node does between two steps: its sockets, its peers' pings.
        setImmediate(() => seen.push('other'));
        return --left === 0;
      };
    };
    const a = turns.run(reply('a', 3));
    const b = turns.run(reply('b', 2));
    expect([turns.waiting, turns.reading]).to.deep.equal([2, 0]);
    await Promise.all([a, b]);
    expect(seen.filter((s) => s !== 'other')).to.deep.equal(['a1', 'a2', 'a3', 'b1', 'b2']);
    // Every step but the last of each reply is followed by other work before the next step.
    for (const step of ['a1', 'a2', 'b1'])
      expect(seen[seen.indexOf(step) + 1], `after ${step}`).to.equal('other');
    expect([turns.waiting, turns.reading]).to.deep.equal([0, 0]);
  });

  it('goes on with the next reply when a step throws', async () => {
    const turns = new ReadTurns();
    const failed = turns.run(() => {
      throw new Error('a read failed');
    });
    const next = turns.run(() => true);
    const error = await failed.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).to.be.instanceOf(Error);
    await next;
  });
});
