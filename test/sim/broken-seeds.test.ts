import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { formatViolations } from './checkers';
import { runSchedule } from './run';
import type { SimSchedule } from './schedule';

/**
 * Schedules that once broke a promise, as the simulator's shrinker left them (test/sim/broken-seeds/,
 * replayable with `npm run sim -- --replay <file>`): nemesis mix 62337 (whose read
 * silent-node-ring.test.ts crafts in eight steps), and flush-in-flight 199, whose flush deleted what
 * each node held when it reached it, so that a write made during it was kept on two replicas and
 * deleted on the third, which never converged (cluster/flush.ts now deletes up to one clock reading
 * everywhere). Nemesis mix 105578: an increment counted twice, because anti-entropy pulled a record
 * that a round missing its quorum had made without the request that made it, and the increment's
 * retry met that copy (copies now carry their requests: replication/record-copies.ts). Nemesis mix
 * 109164 broke no promise but the checker's: a set at W = 1 died with its node, cut off from every
 * member of its ring, which the checker excused only for a node cut off from every node, while this
 * one could still reach a node that was joining through it (no member, so it takes no copy).
 * Late retries 903: increment #14's round at n3 missed its quorum; a retry's prepare elsewhere
 * learnt its outcome from n3's answer and that node remembered it, so its next round counted two
 * replicas that remember the request, took it for chosen and answered the retry as applied, though
 * a round that never read its record had written over it (an acknowledged increment lost). Late
 * retries 170375 is why such an outcome is still kept, as heard of (RequestLog.hear): not kept at
 * all, a later round at that node that heard no replica remembering the request applied it again.
 * Late retries 160253: increment #56's round at n2 missed its quorum and n2 remembered its outcome
 * (16); its retry applied it anew through n3 (53), and another retry's prepare heard n2 first and n3
 * after, counted both as replicas that remember the request, and answered the first, unchosen value.
 * Leases with two coordinators 201585: a retry's coordinator had looked up the request's outcome
 * when the call arrived; another node's round then completed it anew at W = 3, this node among
 * those that took it, and the prepare, hearing the new outcome from the others, did not count this
 * node, so it completed the request once more, at a version its caller was never told.
 * Nemesis mix 202563 (restart-stale-ring.test.ts crafts it): a restarted node took the ring of the
 * first member that answered, one cut off during a join, and counted its own empty copy with that
 * member's in a read at R = 2.
 * Nemesis mix 210184: a catch-up that passed on only the requests that made the records sent left a
 * restarted replica with no memory of an increment it had taken, whose retry another node's
 * prepare then heard it answer "unknown", and applied again (catch-up.ts now keeps such requests as
 * heard of, and prepare answers name those).
 * Eviction 145211 broke only the checker: a get at a node paused past a delete returned the value
 * the delete had replaced, since the other replica it heard had evicted a newer value, which had
 * replaced the delete's tombstone there (what promise 8 allows).
 * Nemesis mix 63830 is lost-hints.test.ts's second test.
 * Late retries 302518: increment #22's round at n3 missed its quorum (its accepts lost); n1's own
 * round for #32, already outbid by n2's, whose prepare had read n1's older record, read n3's copy of
 * #22's record and counted n1 among the replicas that took #22. n2's round wrote over that record,
 * and #22's retry, meeting n1 and n3, was answered as applied: an acknowledged increment lost
 * (record-copies.ts now takes a copy an own round read only below that round's ballot).
 * Nemesis mix 800427 broke only the checker, a third time: a set at W = 1 whose node lost its links
 * 1 ms after acknowledging it (its copies lost on their way), on a ring a join had changed, and
 * crashed. The checker now asks whether another node stored the write before the crash.
 * Short grace 804846: a get held in the socket of a node paused past the grace ran on its return,
 * read the node's own copy of a value deleted meanwhile, and, once the node had dropped its data
 * for the long absence, its read repair wrote that copy back, here and to the replicas, which had
 * purged the delete's tombstone (a read that began before a drop now repairs nothing).
 * Cut catch-up 307233: n1 restarted behind slow links that cut its catch-up streams; it took both
 * peers for dead, skipped them and ended with nothing, and with no anti-entropy never held c1,
 * which it had written before the crash (catch-up-state.ts now owes such peers a pull, and counts
 * its copies of their keys in no quorum until it has pulled from them).
 * Nemesis mix 1004142: n5 joined through n1 while n4 flushed 'f', and its move-in pulled f0, written
 * before the flush, from the old replicas before step 2 reached them; the flush ran on the ring
 * without n5, so n5 kept f0 for good (flush.ts now asks every member's ring after step 2 and flushes
 * again on a ring that changed, tested in test/unit/cluster/flush-ring-change.test.ts). A review
 * crafted three more (flush-*.json): n5 joining through a node that had left, and through n1, which
 * then restarted on its first ring: in both, no member the flush asked held the join's ring, since
 * the old replicas served n5's pulls on its ring without taking it in (syncRecords now does); and
 * n1 restarting during the flush, its fence lost, its catch-up pulling flushed writes from members
 * step 2 had not reached yet (step 2 now runs once more at the end).
 */
describe('the simulator schedules that once broke a promise', function () {
  this.timeout(120_000);
  const dir = path.resolve(__dirname, '../../../test/sim/broken-seeds');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    it(`${file} breaks none now`, async () => {
      const trace = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as {
        seed: number;
        schedule: SimSchedule;
      };
      const result = await runSchedule(trace.schedule, trace.seed);
      expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
    });
  }
});
