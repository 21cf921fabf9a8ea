import * as grpc from '@grpc/grpc-js';
import { loadServices } from '../proto/load';
import { withClusterToken } from '../transport/cluster-token';
import { withUserToken } from '../transport/user-token';
import { channelCredentials, withTls, type TlsOptions } from '../transport/tls';
import { CHANNEL_OPTIONS } from '../transport/pipeline-connection';

type UnaryMethod = (
  req: unknown,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: unknown) => void,
) => void;

/** Plain unary calls to one node, for humans at a terminal (the SDK's batched path is not needed here). */
export class UnaryClient {
  readonly #cache: grpc.Client;
  readonly #cluster: grpc.Client;
  readonly #timeoutMs: number;

  /**
   * `clusterToken`: sent with every call (membership changes need it when the cluster has one).
   * `tls`: TLS to the node; plaintext when unset. `userToken`: a user's token (cluster.yml `auth`).
   */
  constructor(
    address: string,
    timeoutMs = 5000,
    clusterToken?: string,
    tls?: TlsOptions,
    userToken?: string,
  ) {
    const { Cache, Cluster } = loadServices();
    const options = withTls(withUserToken(withClusterToken(CHANNEL_OPTIONS, clusterToken), userToken), tls);
    this.#cache = new Cache(address, channelCredentials(tls), options);
    this.#cluster = new Cluster(address, channelCredentials(tls), options);
    this.#timeoutMs = timeoutMs;
  }

  cache<T>(method: string, req: unknown): Promise<T> {
    return this.#call<T>(this.#cache, method, req);
  }

  cluster<T>(method: string, req: unknown): Promise<T> {
    return this.#call<T>(this.#cluster, method, req);
  }

  close(): void {
    this.#cache.close();
    this.#cluster.close();
  }

  #call<T>(client: grpc.Client, method: string, req: unknown): Promise<T> {
    const fn = (client as unknown as Record<string, UnaryMethod>)[method]!.bind(client);
    return new Promise<T>((resolve, reject) => {
      fn(req, new grpc.Metadata(), { deadline: Date.now() + this.#timeoutMs }, (err, res) =>
        err ? reject(err) : resolve(res as T),
      );
    });
  }
}
