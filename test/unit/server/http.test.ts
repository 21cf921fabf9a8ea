import { expect } from 'chai';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { silentLogger } from '../../../src/observability/logger';
import { startHttp } from '../../../src/server/http';

// Kubernetes restarts a container whose liveness probe fails: a node catching up (not serving for
// minutes) must still answer its liveness endpoint, while readiness says it is not serving yet.
describe('node HTTP endpoints: liveness apart from readiness', () => {
  let server: http.Server | undefined;
  let serving = false;
  let base = '';

  before(async () => {
    server = await startHttp({
      host: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      serving: () => serving,
      logger: silentLogger(),
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server?.close());

  it('answers /livez 200 while /healthz says 503 (starting, catching up or draining)', async () => {
    serving = false;
    const live = await fetch(`${base}/livez`);
    expect(live.status).to.equal(200);
    expect(await live.text()).to.equal('ALIVE\n');
    expect((await fetch(`${base}/healthz`)).status).to.equal(503);
  });

  it('answers both 200 once serving', async () => {
    serving = true;
    expect((await fetch(`${base}/livez`)).status).to.equal(200);
    expect((await fetch(`${base}/healthz`)).status).to.equal(200);
  });

  it('names every endpoint in its 404', async () => {
    const res = await fetch(`${base}/nope`);
    expect(res.status).to.equal(404);
    expect(await res.text()).to.include('/livez');
  });
});
