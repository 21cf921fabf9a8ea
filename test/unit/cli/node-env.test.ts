import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { NODE_ENV_DEFAULTS } from '../../../src/cli/local-cluster';

/** deploy/ of the checkout, from dist/test/unit/cli. */
const DEPLOY = path.resolve(__dirname, '../../../../deploy');

interface Container {
  name: string;
  env?: { name: string; value?: string }[];
}

describe('the environment nodes run with', () => {
  it('gives pods of the shipped StatefulSet the same glibc malloc settings as the nodes `ringcache up` starts', () => {
    const docs = parseAllDocuments(readFileSync(path.join(DEPLOY, 'k8s/statefulset.yaml'), 'utf8')).map(
      (d) => d.toJS() as { kind: string; spec?: { template?: { spec?: { containers?: Container[] } } } },
    );
    const containers = docs.find((d) => d.kind === 'StatefulSet')?.spec?.template?.spec?.containers ?? [];
    expect(containers).to.have.length(1);
    const malloc = Object.fromEntries(
      (containers[0]!.env ?? []).filter((e) => e.name.startsWith('MALLOC_')).map((e) => [e.name, e.value]),
    );
    expect(malloc).to.deep.equal(NODE_ENV_DEFAULTS);
  });

  it('sets them in the image, for nodes run with `docker run`', () => {
    const dockerfile = readFileSync(path.join(DEPLOY, 'Dockerfile'), 'utf8');
    // The ENV instruction of the final stage, its continuation lines joined.
    const env = /^ENV ((?:.*\\\n)*.*)$/m.exec(dockerfile.slice(dockerfile.lastIndexOf('\nFROM ')))?.[1] ?? '';
    const vars = env.replace(/\\\n/g, ' ').split(/\s+/);
    for (const [name, value] of Object.entries(NODE_ENV_DEFAULTS))
      expect(vars, name).to.include(`${name}=${value}`);
  });
});
