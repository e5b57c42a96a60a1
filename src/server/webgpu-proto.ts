/**
 * WebGPU facts in proto form: an execution's attested use (claim.webgpu → WASMVMExecutionResult.webgpu)
 * and the server's adapter (Backend.webgpu → GetServerInfoResponse.webgpu).
 */
import { create } from '@bufbuild/protobuf';
import type { ClaimWebGpu } from '../binding/index.ts';
import {
  type WebGpuAdapter,
  WebGpuAdapterSchema,
  type WebGpuStatus,
  WebGpuStatusSchema,
  type WebGpuUsage,
  WebGpuUsageSchema,
} from '../gen/wasmvm/v1/wasmvm_pb.ts';
import type { Backend } from './backend.ts';

function adapter(a: {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  backend: string;
  featureLevel: string;
}): WebGpuAdapter {
  return create(WebGpuAdapterSchema, {
    vendor: a.vendor,
    architecture: a.architecture,
    device: a.device,
    description: a.description,
    backend: a.backend,
    featureLevel: a.featureLevel,
  });
}

/** The claim's WebGPU record as the response shows it (a copy: verifiers compare each field). */
export function webgpuUsageToProto(g: ClaimWebGpu): WebGpuUsage {
  const u = create(WebGpuUsageSchema, {
    adapter: adapter(g),
    calls: g.calls,
    dispatches: g.dispatches,
    workgroups: g.workgroups,
    bytesToGpu: g.bytesToGpu,
    bytesFromGpu: g.bytesFromGpu,
    gasTableVersion: g.gasTableVersion,
  });
  if (g.gas !== undefined) u.gas = g.gas;
  return u;
}

/** GetServerInfo: the adapter guests get, or why there is none; undefined when WebGPU is off. */
export function webgpuStatusToProto(w: Backend['webgpu']): WebGpuStatus | undefined {
  if (w === undefined) return undefined;
  return w.available
    ? create(WebGpuStatusSchema, { available: true, adapter: adapter(w.adapter) })
    : create(WebGpuStatusSchema, { available: false, reason: w.reason });
}
