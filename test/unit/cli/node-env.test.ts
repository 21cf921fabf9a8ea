import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { NODE_ENV_DEFAULTS } from '../../../src/cli/local-cluster';

/** deploy/k8s, from dist/test/unit/cli or test/unit/cli alike. */
const STATEFULSET = path.resolve(
  __dirname,
  __dirname.includes('/dist/') ? '../../../..' : '../../..',
  'deploy/k8s/statefulset.yaml',
);

interface Container {
  name: string;
  env?: { name: string; value?: string }[];
}

describe('the environment nodes run with', () => {
  it('gives pods of the shipped StatefulSet the same glibc malloc settings as the nodes `ringcache up` starts', () => {
    const docs = parseAllDocuments(readFileSync(STATEFULSET, 'utf8')).map(
      (d) => d.toJS() as { kind: string; spec?: { template?: { spec?: { containers?: Container[] } } } },
    );
    const containers = docs.find((d) => d.kind === 'StatefulSet')?.spec?.template?.spec?.containers ?? [];
    expect(containers).to.have.length(1);
    const malloc = Object.fromEntries(
      (containers[0]!.env ?? []).filter((e) => e.name.startsWith('MALLOC_')).map((e) => [e.name, e.value]),
    );
    expect(malloc).to.deep.equal(NODE_ENV_DEFAULTS);
  });
});
