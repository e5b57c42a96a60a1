import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { NvidiaError } from '../../../src/tee/nvidia/index.ts';
import { collectGpuEvidence, type NvmlBinding, probeGpus } from '../../../src/tee/nvidia/nvml.ts';
import {
  CC_SETTINGS_V1_VERSION,
  CERT_OFFSETS,
  certChainToPem,
  decodeAttestationReport,
  decodeCcSettings,
  decodeCcState,
  decodeGpuCertificate,
  GPU_ATTESTATION_REPORT_SIZE,
  GPU_CERTIFICATE_SIZE,
  newAttestationReportBuffer,
  newCcSettingsBuffer,
  REPORT_OFFSETS,
  splitDerCertificates,
} from '../../../src/tee/nvidia/structs.ts';
import type { GpuEvidence } from '../../../src/tee/nvidia/types.ts';
import { verifyGpuEvidence } from '../../../src/verify/nvidia/local.ts';
import { NONCE_8GPU, nrasRequestEvidence } from '../../verify/nvidia/helpers.ts';

const NOW = new Date('2026-06-29T02:10:00Z');

function u32s(...vals: number[]): Uint8Array {
  const b = new Uint8Array(vals.length * 4);
  const v = new DataView(b.buffer);
  vals.forEach((x, i) => {
    v.setUint32(i * 4, x, true);
  });
  return b;
}

function codeOf(e: unknown): string | undefined {
  return e instanceof NvidiaError ? e.code : undefined;
}

describe('NVML struct layouts (nvml.h) against hand-built buffers', () => {
  it('sizes and offsets', () => {
    assert.equal(GPU_ATTESTATION_REPORT_SIZE, 4 + 4 + 4 + 32 + 0x2000 + 0x1000);
    assert.equal(GPU_CERTIFICATE_SIZE, 4 + 4 + 0x1000 + 0x1400);
    assert.equal(REPORT_OFFSETS.nonce, 12);
    assert.equal(REPORT_OFFSETS.attestationReport, 44);
    assert.equal(REPORT_OFFSETS.cecAttestationReport, 44 + 0x2000);
    assert.equal(CERT_OFFSETS.attestationCertChain, 8 + 0x1000);
    assert.equal(CC_SETTINGS_V1_VERSION, 0x01000014);
  });

  it('nvmlConfComputeSystemState_t', () => {
    assert.deepEqual(decodeCcState(u32s(2, 1, 0)), {
      environment: 'prod',
      ccFeature: true,
      devToolsMode: false,
    });
    assert.deepEqual(decodeCcState(u32s(1, 0, 1)), {
      environment: 'sim',
      ccFeature: false,
      devToolsMode: true,
    });
    assert.throws(() => decodeCcState(new Uint8Array(8)), /need 12/);
  });

  it('nvmlSystemConfComputeSettings_v1_t: version in, fields out', () => {
    const b = newCcSettingsBuffer();
    assert.equal(new DataView(b.buffer).getUint32(0, true), 0x01000014);
    assert.deepEqual(decodeCcSettings(u32s(0x01000014, 2, 1, 0, 1)), {
      environment: 'prod',
      ccFeature: true,
      devToolsMode: false,
      multiGpuMode: 'protected-pcie',
    });
    assert.equal(decodeCcSettings(u32s(0x01000014, 7, 1, 1, 2)).environment, 7);
    assert.equal(decodeCcSettings(u32s(0x01000014, 2, 1, 1, 2)).multiGpuMode, 'nvle');
  });

  it('nvmlConfComputeGpuAttestationReport_t: nonce in, report (and CEC report) out', () => {
    const nonce = new Uint8Array(32).map((_, i) => i + 1);
    const b = newAttestationReportBuffer(nonce);
    assert.deepEqual(b.subarray(12, 44), nonce);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, 1, true);
    dv.setUint32(4, 5, true);
    dv.setUint32(8, 3, true);
    b.set([9, 8, 7, 6, 5], 44);
    b.set([1, 2, 3], 44 + 0x2000);
    const d = decodeAttestationReport(b);
    assert.deepEqual([...d.attestationReport], [9, 8, 7, 6, 5]);
    assert.deepEqual([...d.cecAttestationReport!], [1, 2, 3]);
    assert.deepEqual(d.nonce, nonce);
    dv.setUint32(4, 0x2001, true);
    assert.throws(() => decodeAttestationReport(b), /attestationReportSize/);
    assert.throws(
      () => newAttestationReportBuffer(new Uint8Array(31)),
      (e: unknown) => codeOf(e) === 'NVIDIA_BAD_NONCE',
    );
  });

  it('nvmlConfComputeGpuCertificate_t and DER/PEM chains', () => {
    const [ev] = nrasRequestEvidence('nras-v3-h100-1gpu.request.json');
    const pem = Buffer.from(ev!.certificate, 'base64').toString('latin1');
    const ders = pem
      .match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!
      .map((p) => Buffer.from(p.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64'));
    const concat = Buffer.concat(ders);
    assert.equal(splitDerCertificates(concat).length, 5);
    const b = new Uint8Array(GPU_CERTIFICATE_SIZE);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, 3, true);
    dv.setUint32(4, concat.length, true);
    b.set([1, 2, 3], 8);
    b.set(concat, 8 + 0x1000);
    const d = decodeGpuCertificate(b);
    assert.deepEqual([...d.certChain], [1, 2, 3]);
    assert.ok(Buffer.from(d.attestationCertChain).equals(concat));
    const fromDer = certChainToPem(d.attestationCertChain);
    const fromPem = certChainToPem(new Uint8Array(Buffer.from(pem)));
    assert.equal(fromDer.replace(/\s/g, ''), fromPem.replace(/\s/g, ''));
    dv.setUint32(4, 0, true);
    assert.throws(() => decodeGpuCertificate(b), /attestationCertChainSize/);
  });
});

describe('without NVML (this machine has no GPU)', () => {
  it('collectGpuEvidence fails with NVIDIA_NVML_UNAVAILABLE; probeGpus says why', async (t) => {
    const probe = await probeGpus();
    if (probe.available) {
      t.skip('an NVIDIA GPU with CC is present on this machine');
      return;
    }
    await assert.rejects(collectGpuEvidence(new Uint8Array(32)), (e) => {
      assert.ok(e instanceof NvidiaError);
      assert.ok(
        ['NVIDIA_NVML_UNAVAILABLE', 'NVIDIA_NO_GPU', 'NVIDIA_CC_DISABLED'].includes(e.code),
        e.message,
      );
      return true;
    });
    assert.equal(probe.available, false);
    assert.ok(probe.code && probe.reason, JSON.stringify(probe));
  });

  it('real FFI load of a library without NVML symbols: every entry point is stubbed, init fails cleanly', async (t) => {
    const { loadNvml } = await import('../../../src/tee/nvidia/nvml.ts');
    let binding: NvmlBinding;
    try {
      binding = await loadNvml('libc.so.6');
    } catch (e) {
      t.skip(`no koffi or no libc.so.6 here: ${(e as Error).message}`);
      return;
    }
    assert.equal(binding.init(), 13); // NVML_ERROR_FUNCTION_NOT_FOUND from the stub
    await assert.rejects(
      collectGpuEvidence(new Uint8Array(32), { binding }),
      (e: unknown) => codeOf(e) === 'NVIDIA_NVML_UNAVAILABLE',
    );
    await assert.rejects(
      loadNvml('/nonexistent/libnvidia-ml.so.1'),
      (e: unknown) => codeOf(e) === 'NVIDIA_NVML_UNAVAILABLE',
    );
  });

  it('a wrong nonce length is rejected before NVML is touched', async () => {
    await assert.rejects(
      collectGpuEvidence(new Uint8Array(16)),
      (e: unknown) => codeOf(e) === 'NVIDIA_BAD_NONCE',
    );
  });
});

/** A fake NVML that answers with recorded GPU evidence (the 8-GPU NRAS request). */
function recordedNvml(
  evidence: GpuEvidence[],
  opts: { cc?: number[]; settingsRet?: number; failReport?: boolean; der?: boolean } = {},
) {
  const calls: string[] = [];
  const ok = 0;
  const b: NvmlBinding = {
    init: () => {
      calls.push('init');
      return ok;
    },
    shutdown: () => {
      calls.push('shutdown');
      return ok;
    },
    errorString: (r) => `err${r}`,
    deviceCount: (out) => {
      out[0] = evidence.length;
      return ok;
    },
    deviceHandle: (i, out) => {
      out[0] = BigInt(0x1000 + i);
      return ok;
    },
    deviceUuid: (d, out) => {
      out[0] = `GPU-fake-${Number(d) - 0x1000}`;
      return ok;
    },
    deviceName: (_d, out) => {
      out[0] = 'NVIDIA H100';
      return ok;
    },
    deviceArchitecture: (_d, out) => {
      out[0] = 9;
      return ok;
    },
    deviceVbiosVersion: (_d, out) => {
      out[0] = '96.00.D9.00.02';
      return ok;
    },
    driverVersion: (out) => {
      out[0] = '595.71.05';
      return ok;
    },
    ccState: (buf) => {
      buf.set(u32s(...(opts.cc ?? [2, 1, 0])));
      return ok;
    },
    ccSettings: (buf) => {
      if (opts.settingsRet !== undefined) return opts.settingsRet;
      assert.equal(
        new DataView(buf.buffer, buf.byteOffset).getUint32(0, true),
        0x01000014,
        'version set by caller',
      );
      buf.set(u32s(0x01000014, ...(opts.cc ?? [2, 1, 0]), 1));
      return ok;
    },
    attestationReport: (d, buf) => {
      if (opts.failReport) return 999;
      const i = Number(d) - 0x1000;
      const rep = Buffer.from(evidence[i]!.evidence, 'base64');
      const v = new DataView(buf.buffer, buf.byteOffset);
      // NVML reads the nonce from the struct; the recorded report answers the recorded nonce.
      assert.equal(Buffer.from(buf.subarray(12, 44)).toString('hex'), evidence[i]!.nonce);
      v.setUint32(0, 0, true);
      v.setUint32(4, rep.length, true);
      buf.set(rep, 44);
      return ok;
    },
    gpuCertificate: (d, buf) => {
      const i = Number(d) - 0x1000;
      const pem = Buffer.from(evidence[i]!.certificate, 'base64');
      const chain = opts.der
        ? Buffer.concat(
            pem
              .toString('latin1')
              .match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!
              .map((p) => Buffer.from(p.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64')),
          )
        : pem;
      new DataView(buf.buffer, buf.byteOffset).setUint32(4, chain.length, true);
      buf.set(chain, 8 + 0x1000);
      return opts.der ? Promise.resolve(ok) : ok; // the real binding answers from a worker thread
    },
  };
  return { binding: b, calls };
}

describe('collection path on recorded data (fake NVML binding)', () => {
  const recorded = nrasRequestEvidence('nras-v3-h100-8gpu.request.json');
  const nonce = new Uint8Array(Buffer.from(NONCE_8GPU, 'hex'));

  it('all GPUs: evidence in NRAS form that verifies locally', async () => {
    for (const der of [false, true]) {
      const { binding, calls } = recordedNvml(recorded, { der });
      const list = await collectGpuEvidence(nonce, { binding });
      assert.equal(list.length, 8);
      assert.equal(calls.at(-1), 'shutdown');
      for (const [i, e] of list.entries()) {
        assert.equal(e.arch, 'HOPPER');
        assert.equal(e.index, i);
        assert.equal(e.nonce, NONCE_8GPU);
        assert.equal(e.source, 'nvml');
        assert.deepEqual(e.cc, {
          environment: 'prod',
          ccFeature: true,
          devToolsMode: false,
          multiGpuMode: 'protected-pcie',
        });
        const v = await verifyGpuEvidence(e, { nonce, now: NOW });
        assert.equal(v.ok, true, JSON.stringify(v.checks.filter((c) => c.outcome === 'fail')));
      }
    }
  });

  it('one index; a bad index; no GPU; CC off; NVML errors', async () => {
    const one = await collectGpuEvidence(nonce, { binding: recordedNvml(recorded).binding, index: 3 });
    assert.equal(one.length, 1);
    assert.equal(one[0]!.index, 3);
    await assert.rejects(
      collectGpuEvidence(nonce, { binding: recordedNvml(recorded).binding, index: 8 }),
      (e: unknown) => codeOf(e) === 'NVIDIA_BAD_INDEX',
    );
    await assert.rejects(
      collectGpuEvidence(nonce, { binding: recordedNvml([]).binding }),
      (e: unknown) => codeOf(e) === 'NVIDIA_NO_GPU',
    );
    await assert.rejects(
      collectGpuEvidence(nonce, { binding: recordedNvml(recorded, { cc: [2, 0, 0] }).binding }),
      (e: unknown) => codeOf(e) === 'NVIDIA_CC_DISABLED',
    );
    await assert.rejects(
      collectGpuEvidence(nonce, { binding: recordedNvml(recorded, { failReport: true }).binding }),
      (e: unknown) => codeOf(e) === 'NVIDIA_NVML_CALL_FAILED' && /err999/.test((e as Error).message),
    );
    const initFails = { ...recordedNvml(recorded).binding, init: () => 9 };
    await assert.rejects(
      collectGpuEvidence(nonce, { binding: initFails }),
      (e: unknown) => codeOf(e) === 'NVIDIA_NVML_UNAVAILABLE',
    );
  });

  it('old drivers without the settings call fall back to the state call', async () => {
    const list = await collectGpuEvidence(nonce, {
      binding: recordedNvml(recorded, { settingsRet: 3 }).binding,
      index: 0,
    });
    assert.deepEqual(list[0]!.cc, { environment: 'prod', ccFeature: true, devToolsMode: false });
  });

  it('probeGpus with a binding lists the GPUs', async () => {
    const p = await probeGpus({ binding: recordedNvml(recorded).binding });
    assert.equal(p.available, true);
    assert.equal(p.gpus.length, 8);
    assert.equal(p.driverVersion, '595.71.05');
    const off = await probeGpus({ binding: recordedNvml(recorded, { cc: [2, 0, 0] }).binding });
    assert.equal(off.available, false);
    assert.equal(off.code, 'NVIDIA_CC_DISABLED');
  });
});
