/**
 * gRPC server reflection, v1 and v1alpha (grpc/reflection/v{1,1alpha}/reflection.proto), over the
 * descriptors of the generated code: grpcurl, grpcui, Postman etc. can list the services and fetch
 * file descriptors (with their transitive dependencies) by file name or by symbol.
 *
 * v1alpha has the same wire format as v1: its messages are converted through binary and served by
 * the same implementation.
 */

import type { DescFile, DescMessage, DescService } from '@bufbuild/protobuf';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import type { ConnectRouter } from '@connectrpc/connect';
import { Code } from '@connectrpc/connect';
import {
  type ServerReflectionRequest,
  ServerReflectionRequestSchema,
  type ServerReflectionResponse,
  ServerReflectionResponseSchema,
  ServerReflection as ServerReflectionV1,
} from '../gen/grpc/reflection/v1/reflection_pb.ts';
import {
  type ServerReflectionRequest as ServerReflectionRequestAlpha,
  ServerReflectionRequestSchema as ServerReflectionRequestAlphaSchema,
  type ServerReflectionResponse as ServerReflectionResponseAlpha,
  ServerReflectionResponseSchema as ServerReflectionResponseAlphaSchema,
  ServerReflection as ServerReflectionV1Alpha,
} from '../gen/grpc/reflection/v1alpha/reflection_pb.ts';

/** Index of files and symbols of the served services (and everything they depend on). */
export class DescriptorIndex {
  readonly services: string[];
  private readonly files = new Map<string, DescFile>();
  private readonly symbols = new Map<string, DescFile>();
  private readonly extensions = new Map<string, Map<number, DescFile>>();

  constructor(services: readonly DescService[]) {
    this.services = services.map((s) => s.typeName);
    for (const s of services) this.addFile(s.file);
  }

  private addFile(file: DescFile): void {
    // DescFile.name has no '.proto' suffix; the descriptor's name is the file name clients ask for.
    const name = file.proto.name;
    if (this.files.has(name)) return;
    this.files.set(name, file);
    for (const dep of file.dependencies) this.addFile(dep);
    const addMessage = (m: DescMessage): void => {
      this.symbols.set(m.typeName, file);
      for (const f of m.fields) this.symbols.set(`${m.typeName}.${f.name}`, file);
      for (const n of m.nestedMessages) addMessage(n);
      for (const e of m.nestedEnums) this.symbols.set(e.typeName, file);
      for (const x of m.nestedExtensions) this.addExtension(x.extendee.typeName, x.number, file, x.typeName);
    };
    for (const m of file.messages) addMessage(m);
    for (const e of file.enums) {
      this.symbols.set(e.typeName, file);
      for (const v of e.values) this.symbols.set(`${e.typeName}.${v.name}`, file);
    }
    for (const s of file.services) {
      this.symbols.set(s.typeName, file);
      for (const m of s.methods) this.symbols.set(`${s.typeName}.${m.name}`, file);
    }
    for (const x of file.extensions) this.addExtension(x.extendee.typeName, x.number, file, x.typeName);
  }

  private addExtension(extendee: string, num: number, file: DescFile, typeName: string): void {
    let m = this.extensions.get(extendee);
    if (!m) {
      m = new Map();
      this.extensions.set(extendee, m);
    }
    m.set(num, file);
    this.symbols.set(typeName, file);
  }

  /** The file and its transitive dependencies, each serialized once, the requested file first. */
  private closure(file: DescFile): Uint8Array[] {
    const out: Uint8Array[] = [];
    const seen = new Set<string>();
    const visit = (f: DescFile): void => {
      if (seen.has(f.proto.name)) return;
      seen.add(f.proto.name);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
      for (const d of f.dependencies) visit(d);
    };
    visit(file);
    return out;
  }

  fileByName(name: string): Uint8Array[] | undefined {
    const f = this.files.get(name);
    return f && this.closure(f);
  }
  fileBySymbol(symbol: string): Uint8Array[] | undefined {
    const f = this.symbols.get(symbol.replace(/^\./, ''));
    return f && this.closure(f);
  }
  fileByExtension(type: string, num: number): Uint8Array[] | undefined {
    const f = this.extensions.get(type)?.get(num);
    return f && this.closure(f);
  }
  extensionNumbers(type: string): number[] | undefined {
    if (!this.symbols.has(type)) return undefined;
    return [...(this.extensions.get(type)?.keys() ?? [])].sort((a, b) => a - b);
  }
}

export function answer(index: DescriptorIndex, req: ServerReflectionRequest): ServerReflectionResponse {
  const res = create(ServerReflectionResponseSchema, { validHost: req.host, originalRequest: req });
  const notFound = (what: string) => {
    res.messageResponse = {
      case: 'errorResponse',
      value: {
        $typeName: 'grpc.reflection.v1.ErrorResponse',
        errorCode: Code.NotFound,
        errorMessage: `${what} not found`,
      },
    };
  };
  const files = (list: Uint8Array[] | undefined, what: string) => {
    if (!list) return notFound(what);
    res.messageResponse = {
      case: 'fileDescriptorResponse',
      value: { $typeName: 'grpc.reflection.v1.FileDescriptorResponse', fileDescriptorProto: list },
    };
  };
  const r = req.messageRequest;
  switch (r.case) {
    case 'listServices':
      res.messageResponse = {
        case: 'listServicesResponse',
        value: {
          $typeName: 'grpc.reflection.v1.ListServiceResponse',
          service: index.services.map((name) => ({ $typeName: 'grpc.reflection.v1.ServiceResponse', name })),
        },
      };
      break;
    case 'fileByFilename':
      files(index.fileByName(r.value), `file '${r.value}'`);
      break;
    case 'fileContainingSymbol':
      files(index.fileBySymbol(r.value), `symbol '${r.value}'`);
      break;
    case 'fileContainingExtension':
      files(
        index.fileByExtension(r.value.containingType, r.value.extensionNumber),
        `extension ${r.value.containingType}(${r.value.extensionNumber})`,
      );
      break;
    case 'allExtensionNumbersOfType': {
      const nums = index.extensionNumbers(r.value);
      if (!nums) notFound(`type '${r.value}'`);
      else
        res.messageResponse = {
          case: 'allExtensionNumbersResponse',
          value: {
            $typeName: 'grpc.reflection.v1.ExtensionNumberResponse',
            baseTypeName: r.value,
            extensionNumber: nums,
          },
        };
      break;
    }
    default:
      res.messageResponse = {
        case: 'errorResponse',
        value: {
          $typeName: 'grpc.reflection.v1.ErrorResponse',
          errorCode: Code.InvalidArgument,
          errorMessage: 'empty or unknown message_request',
        },
      };
  }
  return res;
}

/** Register reflection v1 and v1alpha for `services` (the reflection services list themselves too). */
export function registerReflection(router: ConnectRouter, services: readonly DescService[]): DescriptorIndex {
  const index = new DescriptorIndex([...services, ServerReflectionV1, ServerReflectionV1Alpha]);
  router.service(ServerReflectionV1, {
    async *serverReflectionInfo(requests: AsyncIterable<ServerReflectionRequest>) {
      for await (const req of requests) yield answer(index, req);
    },
  });
  router.service(ServerReflectionV1Alpha, {
    async *serverReflectionInfo(requests: AsyncIterable<ServerReflectionRequestAlpha>) {
      for await (const req of requests) {
        const v1 = fromBinary(
          ServerReflectionRequestSchema,
          toBinary(ServerReflectionRequestAlphaSchema, req),
        );
        const out: ServerReflectionResponseAlpha = fromBinary(
          ServerReflectionResponseAlphaSchema,
          toBinary(ServerReflectionResponseSchema, answer(index, v1)),
        );
        yield out;
      }
    },
  });
  return index;
}
