import { expect } from 'chai';
import fc from 'fast-check';
import { RingCacheError } from '../../../src/errors';
import { afterOf, cursorOf, MAX_SCAN_COUNT, scanPage, ScanWalks } from '../../../src/server/key-scan';
import { keyPage, keyPageSteps } from '../../../src/store/key-page';
import { silentLogger } from '../../../src/observability/logger';
import { makeStore, utf8 } from '../store/fake-clock';

/** Every page of a walk over `keys`, by cursor, as a node answers them. */
function walk(keys: readonly string[], prefix: string, count: number): string[][] {
  const entries = keys.map((k): [string, boolean] => [k, true]);
  const pages: string[][] = [];
  let after = '';
  for (;;) {
    const page = keyPage(entries, prefix, after, count, (live) => live);
    expect(page.keys.length).to.be.at.most(count);
    pages.push(page.keys);
    if (!page.more) return pages;
    after = page.keys[page.keys.length - 1]!;
  }
}

function refusal(fn: () => unknown): RingCacheError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(RingCacheError);
    return err as RingCacheError;
  }
  return expect.fail('expected INVALID_ARGUMENT');
}

describe('Scan pages and cursors', () => {
  it('walks every key under the prefix once, in order, in pages of at most count (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.string({ unit: fc.constantFrom('a', 'b', 'é', '😀', ':'), minLength: 1, maxLength: 5 }),
        ),
        fc.constantFrom('', 'a', 'b:', '😀'),
        fc.integer({ min: 1, max: 7 }),
        (keys, prefix, count) => {
          const got = walk(keys, prefix, count).flat();
          const want = keys.filter((k) => k.startsWith(prefix)).sort();
          expect(got).to.deep.equal(want);
        },
      ),
    );
  });

  it('skips keys whose entry is not live, and reads nothing past the page it keeps', () => {
    const page = keyPage(
      [
        ['p:3', true],
        ['p:1', false],
        ['p:2', true],
        ['q:0', true],
        ['p:4', true],
      ],
      'p:',
      '',
      2,
      (live) => live,
    );
    expect(page).to.deep.equal({ keys: ['p:2', 'p:3'], more: true });
  });

  it('store.keyPage leaves out deleted and expired keys without expiring them', () => {
    const { store, clock } = makeStore();
    store.set('k:a', utf8('1'), 0);
    store.set('k:b', utf8('1'), 0, { ttlMs: 10 });
    store.set('k:c', utf8('1'), 0);
    store.delete('k:c');
    expect(store.keyPage('k:', '', 10).keys).to.deep.equal(['k:a', 'k:b']);
    clock.advance(20);
    expect(store.keyPage('k:', '', 10).keys).to.deep.equal(['k:a']);
  });

  it('makes cursors that round-trip and refuses anything else with INVALID_ARGUMENT', () => {
    for (const key of ['p:1', 'p:é😀', 'p:' + 'x'.repeat(200)])
      expect(afterOf(cursorOf(key), 'p:', 250)).to.equal(key);
    expect(afterOf('', 'p:', 250)).to.equal('');
    const bad = [
      'x',
      'k1.',
      'k1.@@',
      'k1.cDox=',
      cursorOf('p:1') + 'A',
      cursorOf('p:' + 'x'.repeat(300)),
      cursorOf('q:1'),
    ];
    for (const cursor of bad) {
      const err = refusal(() => afterOf(cursor, 'p:', 250));
      expect(err.code, cursor).to.equal('INVALID_ARGUMENT');
    }
    // Lone surrogates and bytes that are not UTF-8 do not round-trip: refused, never misread.
    expect(
      refusal(() => afterOf('k1.' + Buffer.from([0x70, 0x3a, 0xff]).toString('base64url'), 'p:', 250)).code,
    ).to.equal('INVALID_ARGUMENT');
  });

  it('checks count and prefix, and says UNAVAILABLE while the node catches up', async () => {
    const deps = {
      // eslint-disable-next-line require-yield
      keyPageSteps: function* () {
        return { keys: ['a'], more: false };
      },
      walks: new ScanWalks(),
      catchingUp: () => false,
      maxKeyBytes: 8,
      logger: silentLogger(),
    };
    expect(await scanPage({ prefix: '', count: 0, cursor: '' }, deps)).to.deep.equal({
      keys: ['a'],
      cursor: '',
    });
    for (const count of [-1, 1.5, MAX_SCAN_COUNT + 1])
      expect((await rejection(scanPage({ prefix: '', count, cursor: '' }, deps))).code).to.equal(
        'INVALID_ARGUMENT',
      );
    expect((await rejection(scanPage({ prefix: 'é'.repeat(5), count: 1, cursor: '' }, deps))).code).to.equal(
      'INVALID_ARGUMENT',
    );
    const catching = { ...deps, catchingUp: () => true };
    expect((await rejection(scanPage({ prefix: '', count: 1, cursor: '' }, catching))).code).to.equal(
      'UNAVAILABLE',
    );
  });

  it('reads one page at a time, a step per turn of the event loop, and lets other work in between', async () => {
    const { store } = makeStore();
    for (let i = 0; i < 100; i++) store.set(`k:${String(i).padStart(3, '0')}`, utf8('v'), 0);
    const walks = new ScanWalks();
    const order: string[] = [];
    const page = (name: string) =>
      walks
        .walk(
          () => store.keyPageSteps('k:', '', 5, 10),
          () => false,
        )
        .then((p) => {
          order.push(name);
          return p;
        });
    const first = page('first');
    const second = page('second');
    expect([walks.walking, walks.waiting]).to.deep.equal([0, 2]);
    // Work queued after both pages runs before either ends: each reads 100 keys, 10 per turn.
    setImmediate(() => order.push('other'));
    expect((await first)?.keys).to.deep.equal(['k:000', 'k:001', 'k:002', 'k:003', 'k:004']);
    expect((await second)?.more).to.equal(true);
    expect(order).to.deep.equal(['other', 'first', 'second']);
    expect([walks.walking, walks.waiting]).to.deep.equal([0, 0]);
  });

  it('reads no page for a caller gone before its turn', async () => {
    const walks = new ScanWalks();
    let read = false;
    const steps = function* () {
      read = true;
      yield;
      return { keys: [], more: false };
    };
    expect(await walks.walk(steps, () => true)).to.equal(undefined);
    expect(read).to.equal(false);
  });

  it('gives the same page in steps as at once, whatever the step', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ maxLength: 4 }), { maxLength: 60 }),
        fc.string({ maxLength: 2 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 20 }),
        (keys, after, count, step) => {
          const entries = keys.map((k) => [k, true] as [string, boolean]);
          const steps = keyPageSteps(entries, '', after, count, (live) => live, step);
          let yields = 0;
          let r = steps.next();
          for (; !r.done; r = steps.next()) yields++;
          expect(r.value).to.deep.equal(keyPage(entries, '', after, count, (live) => live));
          expect(yields).to.equal(Math.floor(keys.length / step));
        },
      ),
    );
  });
});

async function rejection(p: Promise<unknown>): Promise<RingCacheError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RingCacheError) return err;
    throw err;
  }
  return expect.fail('resolved');
}
