import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitForLeave } from '../../../src/cli/leave';

describe('ringcache leave: its progress line', () => {
  it("shows the leaving node's keys and bytes still held, then returns once it says NOT_SERVING", async () => {
    let metricsServed = 0;
    const server = http.createServer((req, res) => {
      if (req.url === '/healthz') {
        // Serving until its metrics were read twice, then handed over: a round the client gave up
        // on (its 2 s timeout, on a starved machine) is made up by the next, and the line is the
        // same both times, so it is printed once either way.
        const serving = metricsServed < 2;
        res.writeHead(serving ? 200 : 503).end(serving ? 'SERVING\n' : 'NOT_SERVING\n');
      } else if (req.url === '/metrics') {
        metricsServed++;
        res.end(
          [
            'ringcache_rebalance_records_scanned 30',
            'ringcache_rebalance_records_sent 12',
            'ringcache_store_keys{node="n4"} 18',
            'ringcache_store_bytes{node="n4"} 3145728',
            '',
          ].join('\n'),
        );
      } else res.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    let printed = '';
    const out = { isTTY: false, write: (s: string) => (printed += s) } as unknown as NodeJS.WriteStream;
    try {
      expect(await waitForLeave('n4', `127.0.0.1:${port}`, 30_000, out)).to.equal('done');
    } finally {
      server.close();
    }
    expect(printed).to.equal(
      'n4: handing its keys over: 12 sent of 30 scanned, 18 keys (3.0 MiB) still held\n',
    );
  });
});
