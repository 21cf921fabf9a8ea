import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../../src/config/load';

const DIR = path.resolve(__dirname, '../../../../deploy/k8s');

interface Manifest {
  kind: string;
  metadata: { name: string };
}
type Labels = Record<string, string>;
interface StatefulSet extends Manifest {
  spec: {
    replicas: number;
    serviceName: string;
    selector: { matchLabels: Labels };
    template: {
      spec: {
        containers: Container[];
        securityContext?: { runAsNonRoot?: boolean };
        affinity?: {
          podAntiAffinity?: { preferredDuringSchedulingIgnoredDuringExecution?: AntiAffinityTerm[] };
        };
        volumes: { name: string; secret?: { secretName: string } }[];
      };
    };
  };
}
interface Container {
  args: string[];
  env: { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  readinessProbe: { grpc: { port: number } };
  livenessProbe: { httpGet: { path: string; port: number } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  volumeMounts: { name: string; mountPath: string }[];
}
interface AntiAffinityTerm {
  weight: number;
  podAffinityTerm: { topologyKey: string; labelSelector: { matchLabels: Labels } };
}
interface Service extends Manifest {
  spec: { clusterIP: string; publishNotReadyAddresses: boolean; selector: Labels };
}
interface Pdb extends Manifest {
  spec: { maxUnavailable: number; selector: { matchLabels: Labels } };
}
interface ConfigMap extends Manifest {
  data: Record<string, string>;
}

function manifests(): Manifest[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(path.join(DIR, f), 'utf8')).map((d) => d.toJS() as Manifest),
    );
}

// Issue 13 §6: no Kubernetes cluster is reachable here; this is how the manifests are checked.
describe('deploy/k8s manifests (issue 13 §6)', () => {
  const all = manifests();
  const one = <T extends Manifest>(kind: string): T => {
    const found = all.filter((m) => m.kind === kind);
    expect(found, kind).to.have.lengthOf(1);
    return found[0] as T;
  };

  it('give every pod of the StatefulSet a cluster.yml that loads and names it and every peer by DNS', () => {
    const sts = one<StatefulSet>('StatefulSet');
    const service = one<Service>('Service');
    const config = parseConfig(one<ConfigMap>('ConfigMap').data['cluster.yml']!, 'configmap.yaml');
    const pods = Array.from({ length: sts.spec.replicas }, (_, i) => `${sts.metadata.name}-${i}`);
    expect(config.nodes.map((n) => n.id)).to.deep.equal(pods);
    for (const node of config.nodes) {
      // Relative to the pod's own namespace (its DNS search path): no namespace is written anywhere.
      expect(node.host).to.equal(`${node.id}.${service.metadata.name}`);
      expect(node.listen?.host).to.equal('0.0.0.0');
      expect(node.httpListen?.host).to.equal('0.0.0.0');
    }
    expect(sts.spec.serviceName).to.equal(service.metadata.name);
  });

  it('take the node id from the pod name, probe readiness by gRPC health and liveness by /livez', () => {
    const sts = one<StatefulSet>('StatefulSet');
    const container = sts.spec.template.spec.containers[0]!;
    const env = container.env.find((e) => e.name === 'RINGCACHE_NODE_ID');
    expect(env?.valueFrom?.fieldRef.fieldPath).to.equal('metadata.name');
    expect(container.readinessProbe.grpc.port).to.equal(7401);
    // /healthz is readiness (503 while catching up): as liveness it would kill a node catching up.
    expect(container.livenessProbe.httpGet).to.deep.equal({ path: '/livez', port: 9401 });
    expect(container.volumeMounts[0]?.mountPath).to.equal('/etc/ringcache');
    // Every pod is placed by its own name, so a pod beyond the ConfigMap's nodes (a scale-up) can join.
    expect(container.args).to.deep.equal([
      'node',
      '--config=/etc/ringcache/cluster.yml',
      '--address=$(RINGCACHE_NODE_ID).ringcache:7401',
      '--http=$(RINGCACHE_NODE_ID).ringcache:9401',
      '--listen=0.0.0.0:7401',
      '--http-listen=0.0.0.0:9401',
    ]);
  });

  it('publish pods that are not ready on a headless Service, and let one pod at most be disrupted', () => {
    const service = one<Service>('Service');
    expect(service.spec).to.include({ clusterIP: 'None', publishNotReadyAddresses: true });
    const labels = one<StatefulSet>('StatefulSet').spec.selector.matchLabels;
    expect(service.spec.selector).to.deep.equal(labels);
    const pdb = one<Pdb>('PodDisruptionBudget');
    expect(pdb.spec.maxUnavailable).to.equal(1);
    expect(pdb.spec.selector.matchLabels).to.deep.equal(labels);
  });
  it('give each node the cluster secret from a Secret, as a file, and run it as non-root', () => {
    const sts = one<StatefulSet>('StatefulSet');
    const pod = sts.spec.template.spec;
    const node = pod.containers[0]!;
    const file = node.env.find((e) => e.name === 'RINGCACHE_CLUSTER_TOKEN_FILE')?.value;
    expect(file, 'RINGCACHE_CLUSTER_TOKEN_FILE').to.be.a('string');
    const mount = node.volumeMounts.find((m) => file!.startsWith(`${m.mountPath}/`));
    expect(mount, `a mount holding ${file}`).to.not.equal(undefined);
    const volume = pod.volumes.find((v) => v.name === mount!.name);
    expect(volume?.secret?.secretName, 'a Secret volume').to.equal('ringcache-cluster-token');
    expect(readFileSync(path.join(DIR, 'README.md'), 'utf8')).to.include(
      'kubectl create secret generic ringcache-cluster-token',
    );
    expect(pod.securityContext?.runAsNonRoot).to.equal(true);
    expect(node.securityContext?.readOnlyRootFilesystem).to.equal(true);
    expect(node.securityContext?.allowPrivilegeEscalation).to.equal(false);
  });

  it('spread pods over machines, and size memory as README "Sizing memory" says for max_memory', () => {
    const sts = one<StatefulSet>('StatefulSet');
    const terms =
      sts.spec.template.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
    expect(terms?.[0]?.podAffinityTerm.topologyKey).to.equal('kubernetes.io/hostname');
    expect(terms?.[0]?.podAffinityTerm.labelSelector.matchLabels).to.deep.equal(
      sts.spec.selector.matchLabels,
    );
    const config = parseConfig(one<ConfigMap>('ConfigMap').data['cluster.yml']!, 'configmap.yaml');
    const mib = Math.ceil((config.limits.maxMemoryBytes * 1.3) / 2 ** 20 + 100);
    const { requests, limits } = sts.spec.template.spec.containers[0]!.resources;
    expect(limits.memory).to.equal(`${mib}Mi`);
    expect(requests.memory).to.equal(limits.memory);
    expect(requests.cpu, 'a CPU request').to.be.a('string');
  });

  it("let only the cluster's pods and labelled clients reach the gRPC port", () => {
    interface Rule {
      ports: { port: number }[];
      from: { podSelector?: { matchLabels: Labels } }[];
    }
    const sts = one<StatefulSet>('StatefulSet');
    const policy = one<Manifest & { spec: { podSelector: { matchLabels: Labels }; ingress: Rule[] } }>(
      'NetworkPolicy',
    );
    expect(policy.spec.podSelector.matchLabels).to.deep.equal(sts.spec.selector.matchLabels);
    const grpc = policy.spec.ingress.filter((r) => r.ports.some((p) => p.port === 7401));
    expect(grpc).to.have.lengthOf(1);
    expect(grpc[0]!.from.map((f) => f.podSelector?.matchLabels)).to.deep.equal([
      sts.spec.selector.matchLabels,
      { 'ringcache-client': 'true' },
    ]);
  });
});
