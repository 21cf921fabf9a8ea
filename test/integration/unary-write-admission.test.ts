import { expect } from 'chai';
import http2 from 'node:http2';
import { UnaryClient } from '../../src/cli/unary-client';
import { loadServices } from '../../src/proto/load';
import { Code } from '../../src/proto/messages';
import { UNREAD_WRITES_MAX } from '../../src/server/client-input';
import { metric, TestCluster, until } from '../support/cluster';

const MiB = 1024 * 1024;
/** limits.max_client_input_bytes here: two 1 MB writes fill it. */
const BUDGET = 2 * MiB;

interface OpenSet {
  /** How the call ended; code -1 when the stream closed without a gRPC status. */
  status: Promise<{ code: number; message: string }>;
  /** Whether the node has answered (anything) yet. */
  answered(): boolean;
  /** Sends the call's one message and ends it. */
  send(request: Record<string, unknown>): void;
}

/**
 * A Cache/Set call on a bare HTTP/2 stream: its headers go now, its message only once `send` is
 * called. A node that answers before then has decided on the headers alone.
 */
function openSet(session: http2.ClientHttp2Session, timeoutS: number): OpenSet {
  const stream = session.request({
    ':method': 'POST',
    ':path': '/ringcache.v1.Cache/Set',
    'content-type': 'application/grpc',
    te: 'trailers',
    'grpc-timeout': `${timeoutS}S`,
  });
  let answered = false;
  const status = new Promise<{ code: number; message: string }>((resolve) => {
    const take = (headers: http2.IncomingHttpHeaders) => {
      answered = true;
      if (headers['grpc-status'] === undefined) return;
      resolve({
        code: Number(headers['grpc-status']),
        message: decodeURIComponent(String(headers['grpc-message'] ?? '')),
      });
      stream.close(); // a status ends the call, whatever of it this side has not sent
    };
    stream.on('response', take);
    stream.on('trailers', take);
    stream.on('close', () => resolve({ code: -1, message: `closed, rstCode ${stream.rstCode}` }));
    stream.on('error', () => undefined); // the status says it
    stream.resume();
  });
  const serialize = loadServices().Cache.service.Set!.requestSerialize;
  return {
    status,
    answered: () => answered,
    send(request) {
      const body = serialize(request);
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(body.length, 1);
      stream.end(Buffer.concat([prefix, body]));
    },
  };
}

/** A small Set at ONE, which n1 stores with its replicas paused. */
const small = (key: string) => ({ key, value: Buffer.from('v'), consistency: 1 });

describe('unary writes while the node holds max_client_input_bytes', function () {
  this.timeout(120_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 3, limits: { maxClientInputBytes: BUDGET } });
  });
  after(async () => {
    for (const id of ['n2', 'n3']) void t?.cluster.kill(id, 'SIGCONT');
    await t?.stop();
  });

  it('reads them one at a time, keeps the next ones unread, and refuses those past them at their headers', async () => {
    // With its replicas paused, n1 holds a 1 MB write, and its copies to them, until the write's
    // deadline: that fills its budget.
    for (const id of ['n2', 'n3']) void t.cluster.kill(id, 'SIGSTOP');
    const filler = new UnaryClient(t.address('n1'), 60_000);
    const session = http2.connect(`http://${t.address('n1')}`);
    session.on('error', () => undefined); // the calls' statuses say what went wrong
    try {
      /** ringcache_limit_refusals_total{limit="max_client_input_bytes"}: absent until the first. */
      const refusals = async () =>
        (await metric(t, 'n1', 'ringcache_limit_refusals_total', { limit: 'max_client_input_bytes' })) || 0;
      const refusedBefore = await refusals();
      // The node ends the write at its own default deadline (5 s). A probe counts only if the node
      // refused it while the write was still held: should the machine stall past that deadline
      // between the filling and the probes, the round is done again.
      let refused: { code: number; message: string } | undefined;
      for (let round = 1; round <= 3 && !refused; round++) {
        let filling = true;
        const fill = filler
          .cache('Set', { key: `fill-${round}`, value: Buffer.alloc(1_000_000, round) })
          .catch(() => undefined)
          .finally(() => (filling = false));
        await until(
          'n1 holding its whole budget',
          async () => !filling || (await metric(t, 'n1', 'ringcache_client_input_bytes')) >= BUDGET,
        );
        // One write is read while the budget is full (the reserve may take a small one), the next
        // UNREAD_WRITES_MAX wait unread, and the one after them is refused on its headers alone.
        const probes = Array.from({ length: UNREAD_WRITES_MAX + 1 }, () => openSet(session, 30));
        const last = openSet(session, 30);
        const answer = await Promise.race([last.status, fill.then(() => undefined)]);
        await fill;
        if (answer === undefined) {
          // Not answered while the budget was full: taken to read (its message never comes).
          for (const probe of [...probes, last]) probe.send(small('late'));
          await Promise.all([...probes, last].map((p) => p.status));
          continue;
        }
        refused = answer;
        expect(refused.code, refused.message).to.equal(Code.RESOURCE_EXHAUSTED);
        expect(refused.message).to.match(/limits\.max_client_input_bytes is 2097152/);
        const early = probes.filter((p) => p.answered()).length;
        expect(early, 'writes answered before their messages were sent').to.equal(0);
        // Once read, each goes on as any other write: small ones at ONE are stored.
        for (const id of ['n2', 'n3']) void t.cluster.kill(id, 'SIGCONT');
        probes.forEach((p, i) => p.send(small(`read-${i}`)));
        const codes = (await Promise.all(probes.map((p) => p.status))).map((s) => s.code);
        expect(codes).to.deep.equal(probes.map(() => Code.OK));
      }
      expect(refused, 'a write refused at its headers while the budget was full, in 3 rounds').to.not.equal(
        undefined,
      );
      expect(await refusals()).to.be.greaterThan(refusedBefore);
    } finally {
      for (const id of ['n2', 'n3']) void t.cluster.kill(id, 'SIGCONT');
      session.close();
      filler.close();
    }
  });
});
