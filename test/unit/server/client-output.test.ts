import { expect } from 'chai';
import { ClientOutputBudget } from '../../../src/server/client-output';
import { ReplyBudget } from '../../../src/server/request-limits';

const MiB = 1024 * 1024;

describe('ClientOutputBudget and the replies it bounds together', () => {
  it('refuses the reply that takes the node past the budget, naming it, and gives back what each held', () => {
    const output = new ClientOutputBudget(32 * MiB);
    const first = new ReplyBudget(32 * MiB, output);
    first.add(30 * MiB);
    expect(first.exceeded, 'one reply within both limits').to.equal(false);
    const second = new ReplyBudget(32 * MiB, output);
    second.add(1 * MiB);
    expect(second.exceeded, '31 MiB held').to.equal(false);
    second.add(2 * MiB);
    expect(second.exceeded, '33 MiB held').to.equal(true);
    expect(second.refusal('GetMany')).to.deep.include({
      limit: 'max_client_output_bytes',
      code: 8, // RESOURCE_EXHAUSTED
    });
    expect(second.refusal('GetMany').message).to.equal(
      `GetMany refused: this node holds ${33 * MiB} bytes of replies for its clients; ` +
        `limits.max_client_output_bytes is ${32 * MiB}. Try again shortly, or ask for less at once`,
    );
    second.release();
    second.release(); // idempotent
    expect(output.bytes).to.equal(30 * MiB);
    second.add(5 * MiB); // a replica's read answered after the refusal: no longer counted
    expect(output.bytes).to.equal(30 * MiB);
    first.release();
    expect(output.bytes).to.equal(0);
  });

  it('stays exceeded once it was, so that a frame decides its reads on one answer', () => {
    const output = new ClientOutputBudget(4 * MiB);
    const other = new ReplyBudget(4 * MiB, output);
    other.add(4 * MiB);
    const frame = new ReplyBudget(4 * MiB, output);
    frame.add(1 * MiB);
    expect(frame.exceeded).to.equal(true);
    other.release();
    frame.add(1);
    expect(frame.exceeded, 'though the node now holds little').to.equal(true);
  });

  it('lets small replies use an eighth more than the budget, so ordinary reads still go', () => {
    const output = new ClientOutputBudget(64 * MiB);
    const large = new ReplyBudget(64 * MiB, output);
    large.add(64 * MiB);
    expect(large.exceeded, 'a reply may take the whole budget alone').to.equal(false);
    const small = new ReplyBudget(64 * MiB, output);
    small.add(1 * MiB); // a sixty-fourth of the budget
    expect(small.exceeded).to.equal(false);
    const larger = new ReplyBudget(64 * MiB, output);
    larger.add(1 * MiB + 1);
    expect(larger.exceeded, 'more than a sixty-fourth').to.equal(true);
    larger.release();
    const smalls = Array.from({ length: 7 }, () => new ReplyBudget(64 * MiB, output));
    for (const s of smalls) s.add(1 * MiB);
    expect(smalls.map((s) => s.exceeded)).to.deep.equal([false, false, false, false, false, false, false]);
    const past = new ReplyBudget(64 * MiB, output);
    past.add(1);
    expect(past.exceeded, 'past an eighth more').to.equal(true);
  });

  it('names max_reply_bytes for one reply past it, whatever the node holds', () => {
    const output = new ClientOutputBudget(64 * MiB);
    const reply = new ReplyBudget(8 * MiB, output);
    reply.add(8 * MiB + 1);
    expect(reply.exceeded).to.equal(true);
    expect(reply.refusal('frame').limit).to.equal('max_reply_bytes');
    // The default budget equals the default max_reply_bytes: a reply past both names its own limit.
    const both = new ReplyBudget(32 * MiB, new ClientOutputBudget(32 * MiB));
    both.add(32 * MiB + 1);
    expect(both.refusal('GetMany').limit).to.equal('max_reply_bytes');
    const alone = new ReplyBudget(8 * MiB);
    alone.add(8 * MiB);
    expect(alone.exceeded, 'without a node budget, as before').to.equal(false);
  });
});
