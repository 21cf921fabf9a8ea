import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import type { PeerEndpoint } from '../../../src/cluster/peer-transport';
import { silentLogger } from '../../../src/observability/logger';
import type { PingRequestMsg, PingResponseMsg } from '../../../src/proto/messages';
import { peerService } from '../../../src/server/peer-service';

/** Stands in for grpc-js's server side of a Gossip stream: answers written, their callbacks held. */
class FakeGossipCall extends EventEmitter {
  readonly written: PingResponseMsg[] = [];
  readonly callbacks: (() => void)[] = [];
  paused = false;
  writableEnded = false;
  destroyed = false;
  write(answer: PingResponseMsg, taken: () => void): boolean {
    this.written.push(answer);
    this.callbacks.push(taken);
    return true;
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  end(): void {
    this.writableEnded = true;
  }
  /** The connection takes the `n` oldest answers not yet taken. */
  take(n: number): void {
    for (const cb of this.callbacks.splice(0, n)) cb();
  }
  probe(probeId: number): void {
    this.emit('data', { from: 'n2', updates: [], ringEpoch: 1, probeId } satisfies PingRequestMsg);
  }
}

function gossipHandler(): (call: FakeGossipCall) => void {
  const endpoint = {
    ping: () => ({ updates: [], ringEpoch: 1, ringDigest: 0, clock: 0, wallClockMs: 0 }),
  } as unknown as PeerEndpoint;
  const { handlers } = peerService({ selfId: 'n1', endpoint, logger: silentLogger() });
  return handlers.Gossip as unknown as (call: FakeGossipCall) => void;
}

describe('Peer.Gossip on the node: flow control', () => {
  it('stops reading at 1,024 answers its connection has not taken, and reads again once half are taken', () => {
    const call = new FakeGossipCall();
    gossipHandler()(call);
    for (let i = 1; i <= 1023; i++) call.probe(i);
    expect(call.paused).to.equal(false);
    call.probe(1024);
    expect(call.paused).to.equal(true);
    expect(call.written.map((a) => a.probeId)).to.deep.equal(Array.from({ length: 1024 }, (_, i) => i + 1));
    call.take(511);
    expect(call.paused, '513 answers still held').to.equal(true);
    call.take(1);
    expect(call.paused, '512 answers still held').to.equal(false);
  });

  it('answers nothing once the stream has ended', () => {
    const call = new FakeGossipCall();
    gossipHandler()(call);
    call.probe(1);
    call.end();
    call.probe(2);
    expect(call.written.map((a) => a.probeId)).to.deep.equal([1]);
  });
});
