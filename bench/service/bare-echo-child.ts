/**
 * The transport's ceiling for the service bench: a bare `node:http2` server that answers the gRPC unary
 * call `/wasm.WASMVMTeeService/Echo` by sending the request's bytes back (EchoRequest and
 * EchoResponse are both `bytes payload = 1`, so the length-prefixed message is a valid answer), with
 * `grpc-status: 0` trailers. No Connect router, no interceptors, no limits, no protobuf decoding: what a
 * gRPC call costs in Node before any of the service's own work. Prints `serving on URL` on stderr.
 */
import * as http2 from 'node:http2';
import { WASMVMTeeService } from '../../src/gen/wasmvm/v1/wasmvm_pb.ts';

const PATH = `/${WASMVMTeeService.typeName}/${WASMVMTeeService.method.echo.name}`;
const server = http2.createServer();
server.on('stream', (stream, headers) => {
  if (headers[':path'] !== PATH) {
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' },
      { endStream: true },
    );
    return;
  }
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  });
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.stderr.write(`serving on http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}\n`);
});
// the bench's client keeps its sessions open: exit at once rather than wait for them to close
process.on('SIGTERM', () => process.exit(0));
