import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import descriptor from 'protobufjs/ext/descriptor';

/**
 * What grpcurl does, with no ringcache .proto at hand: the reflection and health protos are the only
 * ones it knows (grpcurl has them built in); everything else is learnt from the server.
 */
const reflectionRoot = path.resolve(require.resolve('@grpc/reflection'), '../../proto');

type Ctor = grpc.ServiceClientConstructor;

function load(file: string, root: string): grpc.GrpcObject {
  return grpc.loadPackageDefinition(
    protoLoader.loadSync(file, {
      includeDirs: [root],
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    }),
  );
}

interface ReflectionResponse {
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

type ReflectionStub = grpc.Client & {
  ServerReflectionInfo(): grpc.ClientDuplexStream<object, ReflectionResponse>;
};

export class ReflectionClient {
  readonly #client: ReflectionStub;

  constructor(address: string, version: 'v1' | 'v1alpha' = 'v1') {
    const pkg = load(`grpc/reflection/${version}/reflection.proto`, reflectionRoot) as unknown as {
      grpc: { reflection: Record<string, { ServerReflection: Ctor }> };
    };
    const Ctor = pkg.grpc.reflection[version]!.ServerReflection;
    this.#client = new Ctor(address, grpc.credentials.createInsecure()) as unknown as ReflectionStub;
  }

  async listServices(): Promise<string[]> {
    const res = await this.#ask({ list_services: '' });
    return res.list_services_response!.service.map((s) => s.name).sort();
  }

  /** Like `grpcurl describe SERVICE`: the service's methods as "Name(Request) returns (Response)". */
  async describeService(fullName: string): Promise<string[]> {
    const res = await this.#ask({ file_containing_symbol: fullName });
    if (res.error_response) throw new Error(res.error_response.error_message);
    const shortName = fullName.split('.').pop();
    for (const bytes of res.file_descriptor_response!.file_descriptor_proto) {
      const file = descriptor.FileDescriptorProto.decode(bytes) as unknown as {
        service?: {
          name: string;
          method: {
            name: string;
            inputType: string;
            outputType: string;
            clientStreaming?: boolean;
            serverStreaming?: boolean;
          }[];
        }[];
      };
      const svc = file.service?.find((s) => s.name === shortName);
      if (svc) {
        return svc.method.map(
          (m) =>
            `${m.name}(${m.clientStreaming ? 'stream ' : ''}${m.inputType}) returns (${m.serverStreaming ? 'stream ' : ''}${m.outputType})`,
        );
      }
    }
    throw new Error(`service ${fullName} not found in the descriptors the server sent`);
  }

  close(): void {
    this.#client.close();
  }

  #ask(req: object): Promise<ReflectionResponse> {
    return new Promise((resolve, reject) => {
      const call = this.#client.ServerReflectionInfo();
      call.once('data', (res: ReflectionResponse) => {
        resolve(res);
        call.end();
      });
      call.once('error', reject);
      call.write(req);
    });
  }
}

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

type HealthStub = grpc.Client & {
  Check(
    req: { service: string },
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: { status: ServingStatus }) => void,
  ): void;
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: ServingStatus }>;
};

export class HealthClient {
  readonly #client: HealthStub;

  constructor(address: string) {
    const root = path.resolve(path.dirname(healthProtoPath), '../..');
    const pkg = load(path.relative(root, healthProtoPath), root) as unknown as {
      grpc: { health: { v1: { Health: Ctor } } };
    };
    this.#client = new pkg.grpc.health.v1.Health(
      address,
      grpc.credentials.createInsecure(),
    ) as unknown as HealthStub;
  }

  check(service = ''): Promise<ServingStatus> {
    return new Promise((resolve, reject) =>
      this.#client.Check({ service }, { deadline: Date.now() + 3000 }, (err, res) =>
        err ? reject(err) : resolve(res!.status),
      ),
    );
  }

  watch(service = ''): grpc.ClientReadableStream<{ status: ServingStatus }> {
    return this.#client.Watch({ service });
  }

  close(): void {
    this.#client.close();
  }
}
