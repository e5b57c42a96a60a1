/** Worker side of the in-process guest harness (harness.ts): instantiate with the host modules, run _start. */
import { parentPort, workerData } from 'node:worker_threads';
import { createHostModules, HostTrap, WasiExit } from '../../src/host/index.ts';

const { bytes, names, options, ctrl, data } = workerData as {
  bytes: Uint8Array;
  names: string[];
  options: Record<string, unknown>;
  ctrl: SharedArrayBuffer;
  data: SharedArrayBuffer;
};
const c = new Int32Array(ctrl);
const d = new Uint8Array(data);
const bridge = {
  call(method: string, params: unknown): unknown {
    Atomics.store(c, 0, 0);
    parentPort!.postMessage({ type: 'host', method, params });
    Atomics.wait(c, 0, 0);
    const text = new TextDecoder().decode(d.subarray(0, c[1]!));
    if (Atomics.load(c, 0) === 2) throw new HostTrap(`host call ${method} failed: ${text}`);
    return JSON.parse(text);
  },
};
const W = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (b: Uint8Array) => object;
      Instance: new (m: object, i: object) => { exports: Record<string, unknown> };
    };
  }
).WebAssembly;
const host = createHostModules(names, options, bridge);
let status = 'ok';
let code: number | undefined;
let message: string | undefined;
try {
  const inst = new W.Instance(new W.Module(bytes), host.imports);
  host.attach(inst);
  (inst.exports._start as () => void)();
} catch (e) {
  if (e instanceof WasiExit) {
    status = 'exit';
    code = e.exitCode;
  } else if (e instanceof HostTrap) {
    status = 'host_trap';
    message = e.message;
  } else {
    status = 'trap';
    message = String((e as Error).message ?? e);
  }
}
const out = host.collect();
parentPort!.postMessage({ type: 'done', status, code, message, stdout: out.stdout, stderr: out.stderr });
