#!/usr/bin/env node
// Container health check: one grpc.health.v1.Health/Check call over gRPC (h2c) to the local server.
// Exit 0 when the server answers SERVING, 1 otherwise (NOT_SERVING while draining, no answer in 3 s).
//   node bin/healthcheck.js [PORT]          (default: $WASMVM_TEE_PORT or 50051)
// Loads only the gRPC client and the generated Health descriptor (no engine, no TEE).
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { Health, HealthCheckResponse_ServingStatus } from '../dist/gen/grpc/health/v1/health_pb.js';

const port = Number(process.argv[2] ?? process.env.WASMVM_TEE_PORT ?? 50051);
const client = createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
try {
  const r = await client.check({ service: '' }, { timeoutMs: 3000 });
  const name = HealthCheckResponse_ServingStatus[r.status];
  process.stdout.write(`${name}\n`);
  process.exitCode = r.status === HealthCheckResponse_ServingStatus.SERVING ? 0 : 1;
} catch (e) {
  process.stdout.write(`health check failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
