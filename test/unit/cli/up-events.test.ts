import { expect } from 'chai';
import { UpEvents } from '../../../src/cli/up-events';

/** A node's log line as pino writes it. */
const line = (fields: Record<string, unknown>) =>
  JSON.stringify({ level: 30, time: 1, pid: 7, cluster: 'local', node: 'n1', ...fields });
const change = (member: string, from: string, to: string) =>
  line({ component: 'gossip', member, incarnation: 3, cause: 'probe failed', msg: `${from} -> ${to}` });

describe('ringcache up: what it shows of the nodes (UpEvents)', () => {
  it('shows a change of state once, whichever node logs it, and never a refresh (alive -> alive)', () => {
    const events = new UpEvents();
    events.started();
    expect(events.describe('n1', change('n3', 'alive', 'suspect'))).to.equal(
      'n3 is suspect: it missed its pings (seen by n1)',
    );
    expect(events.describe('n2', change('n3', 'alive', 'suspect'))).to.equal(undefined);
    expect(events.describe('n2', change('n3', 'suspect', 'dead'))).to.equal(
      'n3 is dead (seen by n2); its writes go to other nodes as hints',
    );
    expect(events.describe('n1', change('n3', 'suspect', 'dead'))).to.equal(undefined);
    expect(events.describe('n1', change('n2', 'alive', 'alive'))).to.equal(undefined);
    expect(events.describe('n1', change('n3', 'dead', 'alive'))).to.equal('n3 is alive again (seen by n1)');
    expect(events.describe('n3', change('n3', 'alive', 'left'))).to.equal(
      'n3 stopped, and told its peers (seen by n3)',
    );
  });

  // A soak run showed "n3 is dead" twice: n1 took n3 from suspect to dead before n2 had even
  // suspected it, and n2's "alive -> suspect", then "suspect -> dead", were each shown again.
  it('shows nothing of a node that suspects a member another node already holds dead', () => {
    const events = new UpEvents();
    events.started();
    expect(events.describe('n1', change('n3', 'alive', 'suspect'))).to.match(/^n3 is suspect/);
    expect(events.describe('n1', change('n3', 'suspect', 'dead'))).to.match(/^n3 is dead/);
    expect(events.describe('n2', change('n3', 'alive', 'suspect'))).to.equal(undefined);
    expect(events.describe('n2', change('n3', 'suspect', 'dead'))).to.equal(undefined);
    // Back, then missed again: shown again.
    expect(events.describe('n2', change('n3', 'dead', 'alive'))).to.match(/^n3 is alive again/);
    expect(events.describe('n1', change('n3', 'alive', 'suspect'))).to.match(/^n3 is suspect/);
  });

  it('shows no change of state while the nodes start or stop (peers not up yet, or gone)', () => {
    const events = new UpEvents();
    expect(events.describe('n1', change('n2', 'alive', 'suspect'))).to.equal(undefined);
    events.started();
    // Every node serves: n2 is alive, and its suspicion refuted during the start is no news.
    expect(events.describe('n1', change('n2', 'suspect', 'alive'))).to.equal(undefined);
    expect(events.describe('n1', change('n2', 'alive', 'suspect'))).to.equal(
      'n2 is suspect: it missed its pings (seen by n1)',
    );
    events.stopping();
    expect(events.describe('n1', change('n2', 'suspect', 'dead'))).to.equal(undefined);
  });

  it("hides gossip's chatter unless verbose, and shows other warnings with their error's message", () => {
    const chatter = line({ level: 40, member: 'n2', msg: 'no direct or indirect ack; suspecting' });
    const refute = line({ accusation: { id: 'n1' }, msg: 'refuting membership update about self' });
    const info = line({ msg: 'sync sent', records: 0 });
    const events = new UpEvents();
    events.started();
    for (const l of [chatter, refute, info]) expect(events.describe('n1', l), l).to.equal(undefined);
    const warn = line({
      level: 40,
      err: {
        type: 'Error',
        message: '14 UNAVAILABLE: x',
        details: 'connect ECONNREFUSED',
        stack: 'Error: at ...',
      },
      msg: 'ring change not delivered; gossip will carry the epoch',
    });
    expect(events.describe('n1', warn)).to.equal(
      '[n1] ring change not delivered; gossip will carry the epoch (connect ECONNREFUSED)',
    );
    expect(events.describe('n1', 'Segmentation fault')).to.equal('[n1] Segmentation fault');
    const verbose = new UpEvents({ verbose: true });
    verbose.started();
    expect(verbose.describe('n2', chatter)).to.equal(
      '[n2] no direct or indirect ack; suspecting {"member":"n2"}',
    );
    expect(verbose.describe('n2', info)).to.equal('[n2] sync sent {"records":0}');
  });

  it('shows a ring change once, and each node rebalancing with its progress', () => {
    const events = new UpEvents();
    events.started();
    const ring = line({ epoch: 2, members: ['n1', 'n2'], merged: false, msg: 'ring changed' });
    expect(events.describe('n1', ring)).to.equal('ring epoch 2: n1, n2');
    expect(events.describe('n2', ring)).to.equal(undefined);
    expect(events.describe('n1', line({ epoch: 2, records: 30, msg: 'rebalance started' }))).to.equal(
      '[n1] rebalance to epoch 2 started: 30 records to look at',
    );
    expect(
      events.describe('n1', line({ epoch: 2, scanned: 10, of: 30, sent: 4, msg: 'rebalance progress' })),
    ).to.equal('[n1] rebalance to epoch 2: 10 of 30 records looked at, 4 sent');
    const finished = { epoch: 2, scanned: 30, sent: 9, failed: 0, released: 7, msg: 'rebalance finished' };
    expect(events.describe('n2', line(finished))).to.equal(
      '[n2] rebalance to epoch 2 finished: 30 records looked at, 9 sent, 0 failed, 7 copies released',
    );
  });
});
