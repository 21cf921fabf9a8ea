import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRingCacheError } from '../../../src/errors';
import { loadConfig, parseConfig } from '../../../src/config/load';

const NODES = `nodes:
  - { id: n1, address: 127.0.0.1:7401, http: 127.0.0.1:9401 }
  - { id: n2, address: 127.0.0.1:7402, http: 127.0.0.1:9402 }
  - { id: n3, address: 127.0.0.1:7403, http: 127.0.0.1:9403 }
`;

const GOOD = `cluster:
  name: staging
  vnodes: 100
  replication: { factor: 3, write_quorum: 3, read_quorum: 2 }
  gossip: { probe_interval_ms: 1000, probe_timeout_ms: 400, indirect_probes: 3, suspicion_timeout_ms: 5000 }
  hints: { max_count: 500, max_bytes: 1gb, max_age_ms: 45000 }
  tombstone_grace_ms: 120000
  max_clock_offset_ms: 5000
limits: { max_key_bytes: 512, max_value_bytes: 512kb, max_memory: 2gb, max_reply_bytes: 8mb, max_batch_keys: 1000 }
${NODES}`;

/** The CONFIG_INVALID message parseConfig throws for `text`. */
function problems(text: string): string {
  try {
    parseConfig(text, 'cluster.yml');
  } catch (err) {
    expect(isRingCacheError(err, 'CONFIG_INVALID'), String(err)).to.be.true;
    return (err as Error).message;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('loading cluster.yml', () => {
  it('reads every field of a good file', () => {
    const c = parseConfig(GOOD, 'cluster.yml');
    expect(c).to.deep.include({
      name: 'staging',
      vnodes: 100,
      replication: { factor: 3, writeQuorum: 3, readQuorum: 2, sloppy: false },
      gossip: { probeIntervalMs: 1000, probeTimeoutMs: 400, indirectProbes: 3, suspicionTimeoutMs: 5000 },
      hints: { maxCount: 500, maxBytes: 1024 ** 3, maxAgeMs: 45_000 },
      tombstoneGraceMs: 120_000,
      maxClockOffsetMs: 5000,
      limits: {
        maxKeyBytes: 512,
        maxValueBytes: 512 * 1024,
        maxMemoryBytes: 2 * 1024 ** 3,
        maxReplyBytes: 8 * 1024 ** 2,
        maxBatchKeys: 1000,
        maxOutputBufferBytes: 256 * 1024,
        maxWatchers: 1024,
        maxFramesInFlight: 16,
        maxConnections: 4096,
        maxStreamsPerConnection: 1000,
        maxClientCalls: (2 * 1024 ** 3) / (32 * 1024),
        idleTimeoutMs: 300_000,
        maxTombstoneBytes: Math.floor((2 * 1024 ** 3) / 10),
        maxClientOutputBytes: 256 * 1024 ** 2,
        maxClientInputBytes: 256 * 1024 ** 2,
        // max_client_input_bytes, at most gRPC's 64 MiB.
        maxRequestBytes: 64 * 1024 ** 2,
      },
      source: 'cluster.yml',
    });
    expect(c.nodes[1]).to.deep.equal({
      id: 'n2',
      address: '127.0.0.1:7402',
      host: '127.0.0.1',
      port: 7402,
      http: '127.0.0.1:9402',
      httpHost: '127.0.0.1',
      httpPort: 9402,
    });
  });

  it('loads the shipped cluster.yml', () => {
    const c = loadConfig('cluster.yml');
    expect(c.nodes.map((n) => n.address)).to.deep.equal([
      '127.0.0.1:7401',
      '127.0.0.1:7402',
      '127.0.0.1:7403',
    ]);
    expect(c.replication).to.deep.equal({ factor: 3, writeQuorum: 2, readQuorum: 1, sloppy: false });
  });

  it('fills defaults for everything but the nodes', () => {
    const c = parseConfig(NODES, 'cluster.yml');
    expect(c).to.deep.include({
      name: 'local',
      vnodes: 160,
      replication: { factor: 3, writeQuorum: 2, readQuorum: 1, sloppy: false },
      gossip: { probeIntervalMs: 500, probeTimeoutMs: 300, indirectProbes: 2, suspicionTimeoutMs: 1500 },
      hints: { maxCount: 100_000, maxBytes: 64 * 1024 ** 2, maxAgeMs: 30_000 },
      maxClockOffsetMs: 500,
      tombstoneGraceMs: 60_000,
      limits: {
        maxKeyBytes: 1024,
        maxValueBytes: 1_048_576,
        maxMemoryBytes: 256 * 1024 ** 2,
        maxReplyBytes: 32 * 1024 ** 2,
        maxBatchKeys: 4096,
        maxOutputBufferBytes: 256 * 1024,
        maxWatchers: 1024,
        maxFramesInFlight: 16,
        maxConnections: 4096,
        maxStreamsPerConnection: 1000,
        maxClientCalls: 8192,
        idleTimeoutMs: 300_000,
        maxTombstoneBytes: Math.floor((256 * 1024 ** 2) / 10),
        maxClientOutputBytes: 32 * 1024 ** 2,
        maxClientInputBytes: 32 * 1024 ** 2,
        maxRequestBytes: 32 * 1024 ** 2,
      },
    });
  });

  it('caps default replication at the node count', () => {
    const one = parseConfig('nodes:\n  - { id: a, address: h:1, http: h:2 }\n', 'x.yml');
    expect(one.replication).to.deep.equal({ factor: 1, writeQuorum: 1, readQuorum: 1, sloppy: false });
    const partial = parseConfig(`cluster:\n  replication: { factor: 2 }\n${NODES}`, 'x.yml');
    expect(partial.replication).to.deep.equal({ factor: 2, writeQuorum: 2, readQuorum: 1, sloppy: false });
  });

  it('reads replication.sloppy, and refuses a value that is not true or false', () => {
    const sloppy = parseConfig(`cluster:\n  replication: { sloppy: true }\n${NODES}`, 'x.yml');
    expect(sloppy.replication.sloppy).to.equal(true);
    expect(() => parseConfig(`cluster:\n  replication: { sloppy: yes please }\n${NODES}`, 'x.yml')).to.throw(
      /x\.yml:2: cluster\.replication\.sloppy: .*true or false/,
    );
  });

  it('refuses a hint lifetime that is not shorter than the tombstone grace (issue 11 §3)', () => {
    expect(
      problems(`cluster:\n  hints: { max_age_ms: 60000 }\n  tombstone_grace_ms: 60000\n${NODES}`),
    ).to.include(
      'cluster.hints.max_age_ms: 60000 plus max_clock_offset_ms 500 (default) must be shorter than tombstone_grace_ms 60000',
    );
  });

  it('derives a hint lifetime inside a short tombstone grace when none is given', () => {
    const c = parseConfig(`cluster:\n  tombstone_grace_ms: 1200\n${NODES}`, 'x.yml');
    expect(c.hints.maxAgeMs, 'half of the grace').to.equal(600);
  });

  it('accepts anchors, empty optional sections and IPv6 addresses', () => {
    const text = `cluster:\n  hints:\n  vnodes: &v 1200\n  tombstone_grace_ms: *v\nnodes:\n  - { id: n1, address: "[::1]:7401", http: "[::1]:9401" }\n`;
    const c = parseConfig(text, 'x.yml');
    expect(c.tombstoneGraceMs).to.equal(1200);
    expect(c.nodes[0]).to.deep.include({ host: '::1', port: 7401 });
  });

  it('names the file when it cannot be read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringcache-config-'));
    try {
      expect(() => loadConfig(join(dir, 'missing.yml'))).to.throw(
        `${join(dir, 'missing.yml')}: cannot read the cluster config: no such file`,
      );
      writeFileSync(join(dir, 'bad.yml'), 'nodes: []\n');
      expect(() => loadConfig(join(dir, 'bad.yml'))).to.throw(
        `${join(dir, 'bad.yml')}:1: nodes: at least one node is required`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a broken cluster.yml', () => {
  it('reports a YAML syntax error with its line', () => {
    expect(problems('cluster:\n  vnodes: 1\n  name: x: y\nnodes: []\n')).to.equal(
      'cluster.yml:3: YAML syntax error: Nested mappings are not allowed in compact mappings',
    );
    expect(problems('nodes: [\n')).to.match(/^cluster\.yml:2: YAML syntax error: /);
  });

  it('reports an unknown field with the nearest known one', () => {
    const text = `cluster:\n  replication: { factor: 3, write_qorum: 2 }\n${NODES}`;
    expect(problems(text)).to.equal(
      'cluster.yml:2: cluster.replication.write_qorum: unknown field; did you mean write_quorum?',
    );
    expect(problems(`${NODES}colour: blue\n`)).to.equal(
      'cluster.yml:5: colour: unknown field; known fields are cluster, limits, nodes, auth',
    );
  });

  it('reports a field given twice', () => {
    expect(problems(`cluster:\n  vnodes: 10\n  vnodes: 20\n${NODES}`)).to.equal(
      'cluster.yml:3: cluster.vnodes: appears twice (first on line 2)',
    );
  });

  it('reports wrong types with what was expected and what was found', () => {
    const text = `cluster:\n  vnodes: many\n  replication: 3\n${NODES}  - { id: 4, address: 127.0.0.1:7404, http: 127.0.0.1:9404 }\n`;
    expect(problems(text)).to.equal(
      [
        'cluster.yml:2: cluster.vnodes: expected a whole number, got "many"',
        'cluster.yml:3: cluster.replication: expected a map, got number 3',
        'cluster.yml:8: nodes[3].id: expected a string, got number 4 (quote it: "4")',
      ].join('\n'),
    );
    expect(problems('nodes: { id: n1 }\n')).to.equal('cluster.yml:1: nodes: expected a list, got a map');
  });

  it('reports a bad size', () => {
    expect(problems(`limits: { max_memory: 256 megs }\n${NODES}`)).to.equal(
      'cluster.yml:1: limits.max_memory: expected a size in bytes such as 1048576, 512kb, 256mb or 1gb, got "256 megs"',
    );
    expect(problems(`limits:\n  max_value_bytes: 0\n${NODES}`)).to.equal(
      'cluster.yml:2: limits.max_value_bytes: 0 is out of range; expected a whole number >= 1',
    );
    expect(problems(`limits:\n  max_memory: 1kb\n${NODES}`)).to.equal(
      'cluster.yml:2: limits.max_memory: 1024 is smaller than max_key_bytes + max_value_bytes (1024 + 1048576); one entry must fit in memory',
    );
  });

  it('reports a bad address', () => {
    const text = NODES.replace('address: 127.0.0.1:7402', 'address: 127.0.0.1').replace(
      'http: 127.0.0.1:9403',
      'http: 127.0.0.1:70000',
    );
    expect(problems(text)).to.equal(
      [
        'cluster.yml:3: nodes[1].address: expected host:port, got "127.0.0.1"',
        'cluster.yml:4: nodes[2].http: port 70000 is out of range 1..65535 in "127.0.0.1:70000"',
      ].join('\n'),
    );
  });

  it('reports missing node fields at the node', () => {
    expect(problems('nodes:\n  - { id: n1, http: h:1 }\n')).to.equal(
      'cluster.yml:2: nodes[0].address: missing; expected host:port for gRPC, such as 127.0.0.1:7401',
    );
  });

  it('reports a duplicate id', () => {
    expect(problems(NODES.replace('id: n3', 'id: n1'))).to.equal(
      'cluster.yml:4: nodes[2].id: duplicate id "n1" (also nodes[0], line 2)',
    );
    expect(problems(NODES.replace('id: n3', 'id: "n 3"'))).to.match(
      /^cluster\.yml:4: nodes\[2\]\.id: "n 3" must match/,
    );
  });

  it('reports a port used twice on one host, across gRPC and HTTP', () => {
    expect(problems(NODES.replace('address: 127.0.0.1:7402', 'address: 127.0.0.1:7401'))).to.equal(
      'cluster.yml:3: nodes[1].address: port 7401 on 127.0.0.1 is already used by nodes[0].address, line 2',
    );
    expect(problems(NODES.replace('http: 127.0.0.1:9403', 'http: localhost:7402'))).to.equal(
      'cluster.yml:4: nodes[2].http: port 7402 on localhost is already used by nodes[1].address, line 3',
    );
    // The same port on different hosts is fine.
    expect(
      parseConfig(NODES.replace('address: 127.0.0.1:7402', 'address: 127.0.0.2:7401'), 'x').nodes,
    ).to.have.length(3);
  });

  it('reports W > N and R > N naming the field and the factor', () => {
    expect(problems(`cluster:\n  replication:\n    factor: 3\n    write_quorum: 4\n${NODES}`)).to.equal(
      'cluster.yml:4: cluster.replication.write_quorum: 4 is larger than replication.factor 3',
    );
    expect(problems(`cluster:\n  replication: { factor: 2, read_quorum: 3 }\n${NODES}`)).to.equal(
      'cluster.yml:2: cluster.replication.read_quorum: 3 is larger than replication.factor 2',
    );
    expect(
      problems(
        `cluster:\n  replication: { write_quorum: 3 }\nnodes:\n  - { id: a, address: h:1, http: h:2 }\n  - { id: b, address: h:3, http: h:4 }\n`,
      ),
    ).to.equal(
      'cluster.yml:2: cluster.replication.write_quorum: 3 is larger than replication.factor 2 (default)',
    );
  });

  it('reports a replication factor larger than the node count', () => {
    expect(problems(`cluster:\n  replication: { factor: 4 }\n${NODES}`)).to.equal(
      'cluster.yml:2: cluster.replication.factor: 4 is larger than the number of nodes (3); each key needs 4 distinct nodes',
    );
  });

  it('reports a file with no nodes', () => {
    expect(problems('nodes: []\n')).to.equal('cluster.yml:1: nodes: at least one node is required');
    expect(problems('cluster:\n  name: x\n')).to.equal(
      'cluster.yml:1: nodes: missing; expected a list of nodes, each { id, address, http }',
    );
    expect(problems('')).to.equal(
      'cluster.yml:1: nodes: missing; expected a list of nodes, each { id, address, http }',
    );
  });

  it('reports gossip timings that would overlap and vnodes out of range', () => {
    expect(problems(`cluster:\n  vnodes: 0\n  gossip: { probe_interval_ms: 300 }\n${NODES}`)).to.equal(
      [
        'cluster.yml:2: cluster.vnodes: 0 is out of range; expected a whole number 1..10000',
        'cluster.yml:3: cluster.gossip.probe_timeout_ms: 300 must be less than probe_interval_ms 300, or probes overlap',
      ].join('\n'),
    );
  });
});

describe('nodes[].listen and http_listen (issue 13 §5)', () => {
  const yaml = (node: string) =>
    `cluster: { name: c, vnodes: 8 }\nnodes:\n  - ${node}\n  - { id: n2, address: cache-1.cache:7401, http: cache-1.cache:9401, listen: 0.0.0.0:7401 }\n`;

  it('reads where a node binds apart from the address others dial, host names included', () => {
    const config = parseConfig(
      yaml(
        '{ id: n1, address: cache-0.cache:7401, http: cache-0.cache:9401, listen: 0.0.0.0:7401, http_listen: 0.0.0.0:9401 }',
      ),
      'cluster.yml',
    );
    expect(config.nodes[0]).to.include({ address: 'cache-0.cache:7401', host: 'cache-0.cache' });
    expect(config.nodes[0]!.listen).to.deep.equal({ host: '0.0.0.0', port: 7401, text: '0.0.0.0:7401' });
    expect(config.nodes[0]!.httpListen?.text).to.equal('0.0.0.0:9401');
    expect(config.nodes[1]!.httpListen).to.equal(undefined);
  });

  it('names the field of a listen address that is not host:port', () => {
    expect(() =>
      parseConfig(
        yaml('{ id: n1, address: cache-0.cache:7401, http: cache-0.cache:9401, listen: 7401 }'),
        'cluster.yml',
      ),
    ).to.throw(/nodes\[0\]\.listen/);
  });
});

describe('the config loader', () => {
  it('loads the YAML parser only when it parses a file (a node given its config as JSON never does)', () => {
    // A process of its own: this one has loaded the parser already.
    const script = `
      const yaml = require.resolve('yaml');
      const { parseConfig } = require(${JSON.stringify(require.resolve('../../../src/config/load'))});
      const before = yaml in require.cache;
      parseConfig(${JSON.stringify(GOOD)}, 'cluster.yml');
      process.stdout.write(JSON.stringify({ before, after: yaml in require.cache }));`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out)).to.deep.equal({ before: false, after: true });
  });
});
