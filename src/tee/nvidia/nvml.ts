/**
 * GPU evidence through NVML (libnvidia-ml.so.1) over FFI (koffi, an optional dependency loaded
 * lazily). Without koffi, the library, or a GPU, calls fail with a typed NvidiaError code
 * (NVIDIA_NVML_UNAVAILABLE / NVIDIA_NO_GPU / NVIDIA_CC_DISABLED ...), and `probeGpus()` says why.
 *
 * The NVML functions are reached through the small `NvmlBinding` interface (raw buffers in, return
 * codes out) so the whole collection path runs in tests against a recorded-data fake binding.
 */
import {
  CC_STATE_SIZE,
  certChainToPem,
  decodeAttestationReport,
  decodeCcSettings,
  decodeCcState,
  decodeGpuCertificate,
  GPU_CERTIFICATE_SIZE,
  NVML_ARCH,
  newAttestationReportBuffer,
  newCcSettingsBuffer,
} from './structs.ts';
import type { GpuCcSettings, GpuEvidence, GpuProbe } from './types.ts';
import { NvidiaError } from './types.ts';

export const NVML_LIBRARY = 'libnvidia-ml.so.1';
const NVML_SUCCESS = 0;
const NVML_ERROR_NOT_SUPPORTED = 3;
const NVML_ERROR_FUNCTION_NOT_FOUND = 13;

/** The NVML entry points used here. Buffers are filled in place; every call returns an nvmlReturn_t. */
export interface NvmlBinding {
  init(): number;
  shutdown(): number;
  errorString(ret: number): string;
  deviceCount(out: number[]): number;
  deviceHandle(index: number, out: unknown[]): number;
  deviceUuid(dev: unknown, out: string[]): number;
  deviceName(dev: unknown, out: string[]): number;
  deviceArchitecture(dev: unknown, out: number[]): number;
  deviceVbiosVersion(dev: unknown, out: string[]): number;
  driverVersion(out: string[]): number;
  /** nvmlSystemGetConfComputeState(nvmlConfComputeSystemState_t*) */
  ccState(buf: Uint8Array): number;
  /** nvmlSystemGetConfComputeSettings(nvmlSystemConfComputeSettings_t*); NOT_SUPPORTED on old drivers. */
  ccSettings(buf: Uint8Array): number;
  /**
   * nvmlDeviceGetConfComputeGpuAttestationReport(dev, nvmlConfComputeGpuAttestationReport_t*). The
   * GPU signs here (slow): the koffi binding runs it on a worker thread (koffi `.async`).
   */
  attestationReport(dev: unknown, buf: Uint8Array): number | Promise<number>;
  /** nvmlDeviceGetConfComputeGpuCertificate(dev, nvmlConfComputeGpuCertificate_t*) */
  gpuCertificate(dev: unknown, buf: Uint8Array): number | Promise<number>;
}

let cached: Promise<NvmlBinding> | undefined;

/** Load NVML through koffi (once). Throws NvidiaError('NVIDIA_NVML_UNAVAILABLE') with the reason. */
export function loadNvml(path: string = NVML_LIBRARY): Promise<NvmlBinding> {
  if (path === NVML_LIBRARY && cached) return cached;
  const p = (async (): Promise<NvmlBinding> => {
    let koffi: typeof import('koffi');
    try {
      const mod = (await import('koffi')) as unknown as { default?: typeof import('koffi') };
      koffi = (mod.default ?? mod) as typeof import('koffi');
    } catch (e) {
      throw new NvidiaError(
        'NVIDIA_NVML_UNAVAILABLE',
        `the optional dependency 'koffi' (FFI) is not installed: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    let lib: ReturnType<typeof koffi.load>;
    try {
      lib = koffi.load(path);
    } catch (e) {
      throw new NvidiaError(
        'NVIDIA_NVML_UNAVAILABLE',
        `cannot load ${path} (no NVIDIA driver on this machine?): ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    type Fn = ((...args: unknown[]) => unknown) & { async?: (...args: unknown[]) => void };
    const fn = (proto: string): Fn => {
      try {
        return lib.func(proto) as Fn;
      } catch {
        return () => NVML_ERROR_FUNCTION_NOT_FOUND; // older driver without this symbol
      }
    };
    /** Run an NVML call on koffi's worker thread so the event loop keeps going while the GPU signs. */
    const inWorker = (f: Fn, ...args: unknown[]): Promise<number> =>
      f.async
        ? new Promise((resolve, reject) => {
            f.async!(...args, (err: unknown, r: unknown) => (err ? reject(err) : resolve(r as number)));
          })
        : Promise.resolve(f(...args) as number);
    const strCall = (f: (...a: unknown[]) => unknown, pre: unknown[], out: string[], size = 96): number => {
      const buf = Buffer.alloc(size);
      const r = f(...pre, buf, size) as number;
      if (r === NVML_SUCCESS) out[0] = buf.toString('utf8').replace(/\0[\s\S]*$/, '');
      return r;
    };
    const init = fn('int nvmlInit_v2()');
    const shutdown = fn('int nvmlShutdown()');
    const errStr = fn('const char *nvmlErrorString(int result)');
    const count = fn('int nvmlDeviceGetCount_v2(_Out_ unsigned int *count)');
    const handle = fn('int nvmlDeviceGetHandleByIndex_v2(unsigned int index, _Out_ void **device)');
    const uuid = fn('int nvmlDeviceGetUUID(void *device, _Out_ uint8_t *uuid, unsigned int length)');
    const name = fn('int nvmlDeviceGetName(void *device, _Out_ uint8_t *name, unsigned int length)');
    const arch = fn('int nvmlDeviceGetArchitecture(void *device, _Out_ unsigned int *arch)');
    const vbios = fn(
      'int nvmlDeviceGetVbiosVersion(void *device, _Out_ uint8_t *version, unsigned int length)',
    );
    const drv = fn('int nvmlSystemGetDriverVersion(_Out_ uint8_t *version, unsigned int length)');
    const ccState = fn('int nvmlSystemGetConfComputeState(_Inout_ uint8_t *state)');
    const ccSettings = fn('int nvmlSystemGetConfComputeSettings(_Inout_ uint8_t *settings)');
    const report = fn(
      'int nvmlDeviceGetConfComputeGpuAttestationReport(void *device, _Inout_ uint8_t *report)',
    );
    const cert = fn('int nvmlDeviceGetConfComputeGpuCertificate(void *device, _Inout_ uint8_t *cert)');
    return {
      init: () => init() as number,
      shutdown: () => shutdown() as number,
      errorString: (r) => String(errStr(r) ?? `nvmlReturn ${r}`),
      deviceCount: (out) => count(out) as number,
      deviceHandle: (i, out) => handle(i, out) as number,
      deviceUuid: (d, out) => strCall(uuid, [d], out),
      deviceName: (d, out) => strCall(name, [d], out),
      deviceArchitecture: (d, out) => arch(d, out) as number,
      deviceVbiosVersion: (d, out) => strCall(vbios, [d], out),
      driverVersion: (out) => strCall(drv, [], out),
      ccState: (b) => ccState(b) as number,
      ccSettings: (b) => ccSettings(b) as number,
      attestationReport: (d, b) => inWorker(report, d, b),
      gpuCertificate: (d, b) => inWorker(cert, d, b),
    };
  })();
  if (path === NVML_LIBRARY) {
    cached = p;
    p.catch(() => {
      cached = undefined;
    });
  }
  return p;
}

export interface NvmlOptions {
  /** Collect only this GPU (NVML index); default: every GPU. */
  index?: number;
  /** Use this binding instead of loading libnvidia-ml.so.1 (tests, recorded data). */
  binding?: NvmlBinding;
  /** Accept a system whose CC feature is off (evidence is still produced and the verifier will see it). Default false. */
  allowCcOff?: boolean;
}

function check(nvml: NvmlBinding, r: number, what: string): void {
  if (r !== NVML_SUCCESS)
    throw new NvidiaError('NVIDIA_NVML_CALL_FAILED', `${what} returned ${r} (${nvml.errorString(r)})`);
}

function readCc(nvml: NvmlBinding): GpuCcSettings {
  const settings = newCcSettingsBuffer();
  const r = nvml.ccSettings(settings);
  if (r === NVML_SUCCESS) return decodeCcSettings(settings);
  if (r !== NVML_ERROR_NOT_SUPPORTED && r !== NVML_ERROR_FUNCTION_NOT_FOUND)
    check(nvml, r, 'nvmlSystemGetConfComputeSettings');
  const state = new Uint8Array(CC_STATE_SIZE);
  check(nvml, nvml.ccState(state), 'nvmlSystemGetConfComputeState');
  return decodeCcState(state);
}

async function withNvml<T>(opts: NvmlOptions, f: (nvml: NvmlBinding) => T | Promise<T>): Promise<T> {
  const nvml = opts.binding ?? (await loadNvml());
  const r = nvml.init();
  if (r !== NVML_SUCCESS)
    throw new NvidiaError(
      'NVIDIA_NVML_UNAVAILABLE',
      `nvmlInit_v2 returned ${r} (${nvml.errorString(r)}): is the NVIDIA driver loaded?`,
    );
  try {
    return await f(nvml);
  } finally {
    nvml.shutdown();
  }
}

function listIndices(nvml: NvmlBinding, index: number | undefined): number[] {
  const n = [0];
  check(nvml, nvml.deviceCount(n), 'nvmlDeviceGetCount_v2');
  const count = n[0]!;
  if (count === 0) throw new NvidiaError('NVIDIA_NO_GPU', 'NVML reports no GPU');
  if (index === undefined) return Array.from({ length: count }, (_, i) => i);
  if (!Number.isInteger(index) || index < 0 || index >= count)
    throw new NvidiaError(
      'NVIDIA_BAD_INDEX',
      `GPU index ${index} does not exist (NVML reports ${count} GPU(s))`,
    );
  return [index];
}

function deviceInfo(nvml: NvmlBinding, index: number) {
  const h: unknown[] = [null];
  check(nvml, nvml.deviceHandle(index, h), `nvmlDeviceGetHandleByIndex_v2(${index})`);
  const dev = h[0];
  const s: string[] = [];
  const uuid = nvml.deviceUuid(dev, s) === NVML_SUCCESS ? s[0] : undefined;
  const nm: string[] = [];
  const name = nvml.deviceName(dev, nm) === NVML_SUCCESS ? nm[0] : undefined;
  const a = [0];
  const arch =
    nvml.deviceArchitecture(dev, a) === NVML_SUCCESS ? (NVML_ARCH[a[0]!] ?? `ARCH_${a[0]}`) : 'UNKNOWN';
  return { dev, uuid, name, arch };
}

/** What NVML can see, never throwing: for GetServerInfo, `attest_gpu` pre-checks and the CLI. */
export async function probeGpus(opts: Omit<NvmlOptions, 'index'> = {}): Promise<GpuProbe> {
  try {
    return await withNvml(opts, (nvml) => {
      const n = [0];
      check(nvml, nvml.deviceCount(n), 'nvmlDeviceGetCount_v2');
      const gpus = [];
      for (let i = 0; i < n[0]!; i++) {
        const { uuid, name, arch } = deviceInfo(nvml, i);
        gpus.push({ index: i, arch, ...(uuid ? { uuid } : {}), ...(name ? { name } : {}) });
      }
      const d: string[] = [];
      const driverVersion = nvml.driverVersion(d) === NVML_SUCCESS ? d[0] : undefined;
      let cc: GpuCcSettings | undefined;
      try {
        cc = readCc(nvml);
      } catch {
        cc = undefined;
      }
      const probe: GpuProbe = { available: gpus.length > 0, gpus };
      if (driverVersion) probe.driverVersion = driverVersion;
      if (cc) probe.cc = cc;
      if (gpus.length === 0) {
        probe.code = 'NVIDIA_NO_GPU';
        probe.reason = 'NVML reports no GPU';
      } else if (!cc?.ccFeature) {
        probe.available = false;
        probe.code = 'NVIDIA_CC_DISABLED';
        probe.reason = 'confidential computing is not enabled (nvidia-smi conf-compute -scc)';
      }
      return probe;
    });
  } catch (e) {
    if (e instanceof NvidiaError) return { available: false, code: e.code, reason: e.message, gpus: [] };
    return { available: false, code: 'NVIDIA_NVML_UNAVAILABLE', reason: String(e), gpus: [] };
  }
}

/**
 * Evidence from every GPU (or `opts.index`) for one 32-byte nonce: the SPDM GET_MEASUREMENTS
 * request+response signed by the GPU, and its attestation certificate chain.
 */
export async function collectGpuEvidence(nonce: Uint8Array, opts: NvmlOptions = {}): Promise<GpuEvidence[]> {
  if (!(nonce instanceof Uint8Array) || nonce.length !== 32)
    throw new NvidiaError('NVIDIA_BAD_NONCE', `GPU nonce must be 32 bytes, got ${nonce?.length}`);
  return withNvml(opts, async (nvml) => {
    const indices = listIndices(nvml, opts.index);
    const cc = readCc(nvml);
    if (!cc.ccFeature && !opts.allowCcOff)
      throw new NvidiaError(
        'NVIDIA_CC_DISABLED',
        'confidential computing is not enabled on this system (ccFeature off)',
      );
    const d: string[] = [];
    const driverVersion = nvml.driverVersion(d) === NVML_SUCCESS ? d[0] : undefined;
    const nonceHex = Buffer.from(nonce).toString('hex');
    const out: GpuEvidence[] = [];
    for (const index of indices) {
      const { dev, uuid, arch } = deviceInfo(nvml, index);
      const rep = newAttestationReportBuffer(nonce);
      check(
        nvml,
        await nvml.attestationReport(dev, rep),
        `nvmlDeviceGetConfComputeGpuAttestationReport(${index})`,
      );
      const report = decodeAttestationReport(rep);
      const certBuf = new Uint8Array(GPU_CERTIFICATE_SIZE);
      check(
        nvml,
        await nvml.gpuCertificate(dev, certBuf),
        `nvmlDeviceGetConfComputeGpuCertificate(${index})`,
      );
      const certs = decodeGpuCertificate(certBuf);
      const v: string[] = [];
      const vbios = nvml.deviceVbiosVersion(dev, v) === NVML_SUCCESS ? v[0] : undefined;
      const ev: GpuEvidence = {
        arch,
        certificate: Buffer.from(certChainToPem(certs.attestationCertChain)).toString('base64'),
        evidence: Buffer.from(report.attestationReport).toString('base64'),
        nonce: nonceHex,
        index,
        cc,
        source: 'nvml',
      };
      if (uuid) ev.uuid = uuid;
      if (driverVersion) ev.driverVersion = driverVersion;
      if (vbios) ev.vbiosVersion = vbios;
      out.push(ev);
    }
    return out;
  });
}
