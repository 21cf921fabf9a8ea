import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor';
import { DESCRIPTORS, fileDescriptorProtos } from '../../../src/server/reflection';

const ROOT = path.resolve(__dirname, '../../../..');

describe('proto/descriptors.binpb (what reflection serves)', function () {
  this.timeout(30_000);

  it('is what buf builds from proto/ now: run npm run proto:descriptors when this fails', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'descriptors-'));
    try {
      const fresh = path.join(out, 'descriptors.binpb');
      execFileSync(
        path.join(ROOT, 'node_modules/.bin/buf'),
        ['build', 'proto', '--as-file-descriptor-set', '-o', fresh],
        {
          cwd: ROOT,
        },
      );
      expect(
        readFileSync(DESCRIPTORS).equals(readFileSync(fresh)),
        'proto/descriptors.binpb is stale',
      ).to.equal(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('names the health file as grpc/health/v1/health.proto, with its map entry as protoc writes it', () => {
    const set = descriptor.FileDescriptorSet.decode(readFileSync(DESCRIPTORS)) as unknown as {
      file: { name: string; messageType: { name: string; nestedType?: { name: string }[] }[] }[];
    };
    const health = set.file.find((f) => f.name === 'grpc/health/v1/health.proto');
    expect(health, 'health file').to.not.equal(undefined);
    const list = health!.messageType.find((m) => m.name === 'HealthListResponse');
    expect(list?.nestedType?.map((n) => n.name)).to.deep.equal(['StatusesEntry']);
  });

  it('slices into the same file descriptors protobufjs decodes, each byte for byte', () => {
    const bytes = readFileSync(DESCRIPTORS);
    const decoded = descriptor.FileDescriptorSet.decode(bytes) as unknown as { file: protobuf.Message[] };
    const sliced = fileDescriptorProtos(bytes);
    expect(sliced).to.have.length(decoded.file.length);
    decoded.file.forEach((file, i) => {
      const encoded = Buffer.from(descriptor.FileDescriptorProto.encode(file).finish());
      expect(sliced[i]!.equals(encoded), `file ${i}`).to.equal(true);
    });
  });

  it('refuses a descriptor set that is cut short or holds another field', () => {
    const bytes = readFileSync(DESCRIPTORS);
    expect(() => fileDescriptorProtos(bytes.subarray(0, bytes.length - 1))).to.throw(/past the end/);
    expect(() => fileDescriptorProtos(Buffer.from([0x12, 0x00]))).to.throw(/unexpected tag 18/);
  });
});
