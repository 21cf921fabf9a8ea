import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import * as protoLoader from '@grpc/proto-loader';
import {
  LOADER_OPTIONS,
  loadPackageDefinition,
  PROTO_FILES,
  PROTO_JSON,
  protoJsonText,
} from '../../../src/proto/load';

/** What a definition says of each method and message, without the file descriptors (named by file). */
function shape(def: protoLoader.PackageDefinition): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(def)) {
    if ('format' in entry && typeof entry.format === 'string') {
      out[name] = { format: entry.format, type: entry.type };
      continue;
    }
    out[name] = Object.fromEntries(
      Object.entries(entry).map(([m, d]) => [
        m,
        {
          path: d.path,
          requestStream: d.requestStream,
          responseStream: d.responseStream,
          originalName: d.originalName,
          requestType: d.requestType.type,
          responseType: d.responseType.type,
        },
      ]),
    );
  }
  return out;
}

describe('proto/ringcache.json (the protos as every process loads them)', function () {
  this.timeout(30_000);

  it('is what protobufjs reads from proto/ now: run npm run proto:json when this fails', () => {
    // As text, as npm run proto:json writes it: a deep comparison would not see an rpc or a field
    // moved within its message (the order of an object's keys), which changes what is written.
    expect(readFileSync(PROTO_JSON, 'utf8'), 'proto/ringcache.json is stale').to.equal(protoJsonText());
  });

  it('defines the services and messages that loading the .proto files defines', () => {
    const fromSources = protoLoader.loadSync(PROTO_FILES, LOADER_OPTIONS);
    const fromJson = loadPackageDefinition();
    expect(Object.keys(fromJson).sort()).to.deep.equal(Object.keys(fromSources).sort());
    expect(shape(fromJson)).to.deep.equal(shape(fromSources));
    const set = fromJson['ringcache.v1.Cache'] as protoLoader.ServiceDefinition;
    const request = { key: 'k', value: Buffer.from('v'), ttlMs: 5 };
    const bytes = set.Set!.requestSerialize(request);
    const again = (fromSources['ringcache.v1.Cache'] as protoLoader.ServiceDefinition).Set!.requestSerialize(
      request,
    );
    expect(Buffer.compare(bytes, again)).to.equal(0);
    expect(set.Set!.requestDeserialize(bytes)).to.include({ key: 'k', ttlMs: 5 });
  });
});
