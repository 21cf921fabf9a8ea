/**
 * bench:abuse's victim, in a process of its own: `node abuse-victim.js ADDRESS`. In the bench's
 * process, building a flood's requests (32 of a million keys) held the victim's timers too, and its
 * latencies were partly the bench's. Runs a Victim until the parent sends anything, then sends back
 * { failures, latencies } and exits.
 */
import { Victim } from '../test/support/victim';

const victim = new Victim(process.argv[2]!, 10_000);
process.send!('started');
// The bench gone (it failed, or was stopped), the victim goes too.
process.on('disconnect', () => process.exit(1));
process.once('message', () => {
  void victim.stop().then((failures) => {
    process.send!({ failures, latencies: victim.latencies }, () => process.exit(0));
  });
});
