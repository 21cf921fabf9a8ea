import { expect } from 'chai';
import { isRingCacheError } from '../../../src/errors';
import { generateLocalConfig } from '../../../src/config/generate';
import { DEFAULT_LIMITS, minMaxRequestBytes, STREAM_FRAME_BYTES } from '../../../src/config/defaults';
import { PACKED_PART_BYTES } from '../../../src/proto/packed';
import { parseConfig } from '../../../src/config/load';

const NODES = `nodes:
  - { id: n1, address: 127.0.0.1:7401, http: 127.0.0.1:9401 }
`;
const MiB = 1024 * 1024;

/** The CONFIG_INVALID message parseConfig throws for `limits`. */
function problems(limits: string): string {
  try {
    parseConfig(`limits:\n${limits}\n${NODES}`, 'cluster.yml');
  } catch (err) {
    expect(isRingCacheError(err, 'CONFIG_INVALID'), String(err)).to.be.true;
    return (err as Error).message;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('limits.max_reply_bytes and limits.max_batch_keys', () => {
  it('are 32 MiB and 4096 when left out', () => {
    const { limits } = parseConfig(NODES, 'cluster.yml');
    expect(limits.maxReplyBytes).to.equal(32 * MiB);
    expect(limits.maxBatchKeys).to.equal(4096);
  });

  it('read a size and a whole number', () => {
    const { limits } = parseConfig(`limits: { max_reply_bytes: 48mb, max_batch_keys: 300 }\n${NODES}`, 'c');
    expect(limits.maxReplyBytes).to.equal(48 * MiB);
    expect(limits.maxBatchKeys).to.equal(300);
  });

  it('default max_reply_bytes to an eighth of a max_memory below 256 MiB, so one reply fits its margin', () => {
    const small = parseConfig(`limits: { max_memory: 64mb }\n${NODES}`, 'cluster.yml').limits;
    expect(small.maxReplyBytes).to.equal(8 * MiB);
    expect(small.maxClientOutputBytes, 'max_client_output_bytes follows').to.equal(8 * MiB);
    const large = parseConfig(`limits: { max_memory: 4gb }\n${NODES}`, 'cluster.yml').limits;
    expect(large.maxReplyBytes, 'never past 32 MiB when left out').to.equal(32 * MiB);
  });

  it('default max_reply_bytes to max_value_bytes when that is larger, so one value always fits', () => {
    const { limits } = parseConfig(
      `limits: { max_value_bytes: 40mb, max_memory: 1gb }\n${NODES}`,
      'cluster.yml',
    );
    expect(limits.maxReplyBytes).to.equal(40 * MiB);
  });

  it('refuse a max_reply_bytes past 56 MiB: gRPC caps a message at 64 MiB', () => {
    expect(problems('  max_reply_bytes: 64mb')).to.equal(
      'cluster.yml:2: limits.max_reply_bytes: 67108864 is out of range; expected a whole number 1..58720256',
    );
  });

  it('refuse a max_reply_bytes smaller than max_value_bytes', () => {
    expect(problems('  max_value_bytes: 2mb\n  max_reply_bytes: 1mb')).to.equal(
      'cluster.yml:3: limits.max_reply_bytes: 1048576 is smaller than max_value_bytes 2097152; a get of the largest value must fit in a reply',
    );
  });

  it('refuse a max_batch_keys below 256 (an SDK frame), past 100000, or not whole', () => {
    expect(problems('  max_batch_keys: 0')).to.equal(
      'cluster.yml:2: limits.max_batch_keys: 0 is out of range; expected a whole number 256..100000',
    );
    expect(problems('  max_batch_keys: 255')).to.equal(
      'cluster.yml:2: limits.max_batch_keys: 255 is out of range; expected a whole number 256..100000',
    );
    expect(problems('  max_batch_keys: 1000000')).to.equal(
      'cluster.yml:2: limits.max_batch_keys: 1000000 is out of range; expected a whole number 256..100000',
    );
    expect(problems('  max_batch_keys: 10kb')).to.equal(
      'cluster.yml:2: limits.max_batch_keys: expected a whole number, got "10kb"',
    );
  });

  it('name a misspelt field', () => {
    expect(problems('  max_reply_byte: 1mb')).to.match(/limits\.max_reply_byte: unknown field; did you mean/);
  });

  it('are checked the same in a generated config', () => {
    expect(() =>
      generateLocalConfig({ nodes: 1, base: { limits: { ...DEFAULT_LIMITS, maxBatchKeys: 0 } } }),
    ).to.throw(/<generated>: limits.max_batch_keys: 0 is out of range; expected a whole number 256..100000/);
    expect(generateLocalConfig({ nodes: 1 }).limits).to.include({
      maxReplyBytes: 32 * MiB,
      maxBatchKeys: 4096,
    });
  });
});

describe('limits on streams, connections and tombstones', () => {
  it('read every field, with defaults for those left out', () => {
    const { limits } = parseConfig(
      `limits:\n  max_output_buffer_bytes: 1mb\n  max_watchers: 10\n  max_frames_in_flight: 4\n` +
        `  max_connections: 100\n  max_streams_per_connection: 50\n  idle_timeout_ms: 30000\n` +
        `  max_tombstone_bytes: 8mb\n${NODES}`,
      'cluster.yml',
    );
    expect(limits).to.include({
      maxOutputBufferBytes: MiB,
      maxWatchers: 10,
      maxFramesInFlight: 4,
      maxConnections: 100,
      maxStreamsPerConnection: 50,
      idleTimeoutMs: 30_000,
      maxTombstoneBytes: 8 * MiB,
    });
    const defaults = parseConfig(`limits: { max_memory: 100mb }\n${NODES}`, 'cluster.yml').limits;
    expect(defaults).to.include({
      maxOutputBufferBytes: 256 * 1024,
      maxWatchers: 1024,
      maxFramesInFlight: 16,
      maxConnections: 4096,
      maxStreamsPerConnection: 1000,
      idleTimeoutMs: 300_000,
      maxTombstoneBytes: 10 * MiB,
    });
  });

  it('refuse values out of range, naming the field', () => {
    expect(problems('  max_streams_per_connection: 2')).to.equal(
      'cluster.yml:2: limits.max_streams_per_connection: 2 is out of range; expected a whole number 10..2147483647',
    );
    expect(problems('  idle_timeout_ms: 10')).to.equal(
      'cluster.yml:2: limits.idle_timeout_ms: 10 is out of range; expected a whole number 1000..2147483647',
    );
    expect(problems('  max_watchers: 0')).to.equal(
      'cluster.yml:2: limits.max_watchers: 0 is out of range; expected a whole number 1..1000000',
    );
  });
});

describe('limits.max_client_output_bytes', () => {
  it('is an eighth of max_memory when left out, or max_reply_bytes when larger', () => {
    const at = (limits: string) =>
      parseConfig(`limits: { ${limits} }\n${NODES}`, 'c').limits.maxClientOutputBytes;
    expect(at('max_memory: 1gb')).to.equal(128 * MiB);
    expect(at('max_memory: 64mb')).to.equal(8 * MiB);
    expect(at('max_memory: 64mb, max_reply_bytes: 32mb')).to.equal(32 * MiB);
    expect(at('max_memory: 64mb, max_reply_bytes: 48mb')).to.equal(48 * MiB);
    expect(at('max_memory: 1gb, max_client_output_bytes: 40mb')).to.equal(40 * MiB);
  });

  it('refuses one smaller than max_reply_bytes: such a reply could never be sent', () => {
    expect(problems('  max_reply_bytes: 8mb\n  max_client_output_bytes: 4mb')).to.equal(
      'cluster.yml:3: limits.max_client_output_bytes: 4194304 is smaller than max_reply_bytes 8388608; a reply of max_reply_bytes must fit in it',
    );
  });
});

describe('limits.max_client_input_bytes', () => {
  it('is an eighth of max_memory when left out, or max_value_bytes when larger', () => {
    const at = (limits: string) =>
      parseConfig(`limits: { ${limits} }\n${NODES}`, 'c').limits.maxClientInputBytes;
    expect(at('max_memory: 1gb')).to.equal(128 * MiB);
    expect(at('max_memory: 64mb')).to.equal(8 * MiB);
    expect(at('max_memory: 64mb, max_value_bytes: 12mb, max_reply_bytes: 12mb')).to.equal(12 * MiB);
    expect(at('max_memory: 1gb, max_client_input_bytes: 40mb')).to.equal(40 * MiB);
  });

  it('refuses one smaller than max_value_bytes: a Set of the largest value could never be taken', () => {
    expect(problems('  max_value_bytes: 2mb\n  max_client_input_bytes: 1mb')).to.equal(
      'cluster.yml:3: limits.max_client_input_bytes: 1048576 is smaller than max_value_bytes 2097152; a Set of max_value_bytes must fit in it',
    );
  });
});

describe('limits.max_request_bytes', () => {
  const at = (limits: string) => parseConfig(`limits: { ${limits} }\n${NODES}`, 'c').limits.maxRequestBytes;

  it('is max_client_input_bytes when left out, at most 64 MiB', () => {
    expect(at('max_memory: 64mb')).to.equal(8 * MiB);
    expect(at('max_memory: 256mb')).to.equal(32 * MiB);
    expect(DEFAULT_LIMITS.maxRequestBytes).to.equal(32 * MiB);
    expect(at('max_memory: 4gb')).to.equal(64 * MiB);
    expect(at('max_memory: 64mb, max_client_input_bytes: 12mb')).to.equal(12 * MiB);
  });

  it('or room for the largest SDK frame, or a GetMany of max_batch_keys keys, when larger', () => {
    // 4 MiB of a frame, a value and a key of the largest sizes, 1 MiB of framing.
    expect(at('max_memory: 32mb')).to.equal(6 * MiB + 1024);
    expect(at('max_memory: 64mb, max_value_bytes: 8mb, max_reply_bytes: 8mb')).to.equal(13 * MiB + 1024);
    expect(minMaxRequestBytes(MiB, 1024)).to.equal(6 * MiB + 1024);
    expect(at('max_memory: 64mb, max_batch_keys: 10000')).to.equal(10_000 * (1024 + 8));
    expect(at('max_memory: 64mb, max_batch_keys: 100000')).to.equal(64 * MiB);
  });

  it('matches the frames the SDK sends (the wire format stops them at the same bytes)', () => {
    expect(STREAM_FRAME_BYTES).to.equal(PACKED_PART_BYTES);
  });

  it('refuses one smaller than the largest SDK frame, or past 64 MiB', () => {
    expect(problems('  max_request_bytes: 4mb')).to.equal(
      'cluster.yml:2: limits.max_request_bytes: 4194304 is smaller than 6292480, the largest frame the SDK sends (4 MiB, max_value_bytes, max_key_bytes and 1 MiB of framing)',
    );
    expect(problems('  max_request_bytes: 65mb')).to.equal(
      'cluster.yml:2: limits.max_request_bytes: 68157440 is out of range; expected a whole number 1..67108864',
    );
    expect(at('max_request_bytes: 16mb')).to.equal(16 * MiB);
  });
});

describe('limits.max_client_calls', () => {
  it('is one per 32 KiB of max_memory when left out, at least 2048', () => {
    const at = (maxMemory: string) =>
      parseConfig(`limits: { max_memory: ${maxMemory} }\n${NODES}`, 'cluster.yml').limits.maxClientCalls;
    expect([at('16mb'), at('64mb'), at('256mb'), at('1gb')]).to.deep.equal([2048, 2048, 8192, 32768]);
    expect(parseConfig(NODES, 'cluster.yml').limits.maxClientCalls).to.equal(DEFAULT_LIMITS.maxClientCalls);
  });

  it('reads a whole number, and refuses one below 16 (an SDK client alone opens several)', () => {
    const { limits } = parseConfig(`limits: { max_client_calls: 500 }\n${NODES}`, 'c');
    expect(limits.maxClientCalls).to.equal(500);
    expect(problems('  max_client_calls: 8')).to.equal(
      'cluster.yml:2: limits.max_client_calls: 8 is out of range; expected a whole number 16..100000000',
    );
  });
});
