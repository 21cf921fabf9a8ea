import { expect } from 'chai';
import { generateLocalConfig } from '../../../src/config/generate';
import { DEFAULT_LIMITS } from '../../../src/config/defaults';

describe('generateLocalConfig', () => {
  it('makes n nodes on 127.0.0.1 with consecutive ports and cluster.yml defaults', () => {
    const c = generateLocalConfig({ nodes: 5 });
    expect(c.nodes.map((n) => n.id)).to.deep.equal(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect(c.nodes[4]).to.deep.equal({
      id: 'n5',
      address: '127.0.0.1:7405',
      host: '127.0.0.1',
      port: 7405,
      http: '127.0.0.1:9405',
      httpHost: '127.0.0.1',
      httpPort: 9405,
    });
    expect(c).to.deep.include({
      name: 'local',
      vnodes: 160,
      source: '<generated>',
      replication: { factor: 3, writeQuorum: 2, readQuorum: 1, sloppy: false },
    });
  });

  it('caps replication for small clusters and takes overrides from base', () => {
    expect(generateLocalConfig({ nodes: 1 }).replication).to.deep.equal({
      factor: 1,
      writeQuorum: 1,
      readQuorum: 1,
      sloppy: false,
    });
    const c = generateLocalConfig({
      nodes: 2,
      basePort: 20000,
      baseHttpPort: 21000,
      base: {
        vnodes: 40,
        limits: { ...DEFAULT_LIMITS, maxKeyBytes: 10, maxValueBytes: 10, maxMemoryBytes: 100 },
      },
    });
    expect(c.nodes.map((n) => n.address)).to.deep.equal(['127.0.0.1:20000', '127.0.0.1:20001']);
    expect(c.vnodes).to.equal(40);
    expect(c.limits.maxMemoryBytes).to.equal(100);
  });

  it('refuses what a file would be refused for, naming <generated> and the field', () => {
    expect(() =>
      generateLocalConfig({
        nodes: 2,
        base: { replication: { factor: 2, writeQuorum: 3, readQuorum: 1, sloppy: false } },
      }),
    ).to.throw('<generated>: cluster.replication.write_quorum: 3 is larger than replication.factor 2');
    expect(() => generateLocalConfig({ nodes: 3, basePort: 9400 })).to.throw(
      '<generated>: nodes[1].address: port 9401 on 127.0.0.1 is already used by nodes[0].http',
    );
    expect(() => generateLocalConfig({ nodes: 0 })).to.throw('<generated>: --nodes: 0 is out of range');
    expect(() => generateLocalConfig({ nodes: 3, basePort: 65534 })).to.throw(
      '<generated>: basePort: 65534 is out of range',
    );
  });
});
