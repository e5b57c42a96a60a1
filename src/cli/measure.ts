/**
 * `wasmvm-tee measure snp|tdx`: the launch measurement a VM booted from given artefacts will report,
 * to pin with `wasmvm-tee verify --measurement HEX` or in a reference-value file.
 */
import { readFileSync } from 'node:fs';
import { VCPU_TYPES } from '../verify/defaults.ts';
import type { SnpMeasureOptions } from '../verify/index.ts';
import { EXIT, EXIT_TABLE } from './exit-codes.ts';
import { parseArgs, reportUsage, UsageError } from './usage.ts';

export const summary = 'compute the expected SEV-SNP MEASUREMENT or TDX MRTD of a VM image';

export const help = `Usage:
  wasmvm-tee measure snp --ovmf OVMF.fd --vcpus N --vcpu-type T [--vmm qemu|ec2|gce] [--product P]
                         [--kernel FILE [--initrd FILE] [--append CMDLINE]] [--guest-features HEX]
                         [--snp-ovmf-hash HEX] [--json]
  wasmvm-tee measure tdx --tdvf OVMF.fd [--page-order single-pass|two-pass] [--json]

Prints the launch measurement (hex, 48 bytes) that a confidential VM booted from these artefacts
reports; pin it with 'wasmvm-tee verify --measurement HEX' or in a reference-value file
(docs/reference-values.md).

snp: the SEV-SNP launch digest (AMD SEV-SNP ABI, SNP_LAUNCH_UPDATE PAGE_INFO chain) over the OVMF
image, its SEV metadata sections, QEMU's kernel/initrd/cmdline hash table for direct boot, and one
VMSA page per vCPU, as the public sev-snp-measure tool computes it (QEMU, EC2) and as Google's
gce-tcb-verifier reconstructs it (GCE).
  --ovmf FILE             the OVMF firmware (OvmfPkg/AmdSev for direct kernel boot)
  --vcpus N               number of vCPUs
  --vcpu-type T           QEMU CPU model: ${Object.keys(VCPU_TYPES).join(', ')}
                          (its CPUID signature goes into RDX of every VMSA; ignored for ec2 and gce)
  --vcpu-sig HEX          the CPUID signature itself, instead of --vcpu-type
  --vmm qemu|ec2|gce      the VMM's initial register state and page types (default qemu)
  --product milan|genoa   gce only: the AMD product (its address width places the VMSA page;
                          default milan). GCE measures one VMSA per vCPU of the machine type
  --kernel/--initrd/--append   direct boot artefacts (QEMU -kernel/-initrd/-append)
  --guest-features HEX    SEV_FEATURES in the VMSAs (default 0x1)
  --snp-ovmf-hash HEX     the launch digest after the OVMF pages, precomputed (skips hashing --ovmf's pages)

tdx: MRTD (TDH.MEM.PAGE.ADD and TDH.MR.EXTEND over the TDVF metadata sections).
  --tdvf FILE             the TDVF/OVMF image with TDX metadata
  --page-order O          single-pass (upstream KVM: extend each page right after adding it; default)
                          or two-pass (older TDX stacks: add a section's pages, then extend them)

Common:
  --json                  print {"kind": ..., "measurement": HEX, "inputs": {...}}
Exit status: 0 computed, 2 usage or input error (with an error code: MEASURE_BAD_FIRMWARE,
MEASURE_NO_KERNEL_HASHES, MEASURE_UNSUPPORTED, MEASURE_BAD_INPUT).
${EXIT_TABLE}
`;

export interface CliIo {
  out(s: string): void;
  err(s: string): void;
}
const defaultIo: CliIo = { out: (s) => console.log(s), err: (s) => console.error(s) };

function read(file: unknown, what: string): Buffer {
  if (typeof file !== 'string') throw new UsageError('USAGE', `${what} FILE is required`);
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UsageError('BAD_INPUT', `cannot read ${what} ${file}: ${(e as Error).message}`);
  }
}

function hexArg(v: unknown, what: string, bytes?: number): Buffer {
  const s = String(v).replace(/^0x/, '');
  if (!/^([0-9a-fA-F]{2})+$/.test(s) || (bytes !== undefined && s.length !== bytes * 2))
    throw new UsageError('USAGE', `${what}: expected ${bytes ?? 'some'} bytes of hex`);
  return Buffer.from(s, 'hex');
}

/** The verifier's measurement code, loaded when a measurement runs (--help stays fast). */
let V: typeof import('../verify/index.ts');

export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  V ??= await import('../verify/index.ts');
  const [kind, ...rest] = argv;
  try {
    if (kind !== 'snp' && kind !== 'tdx') throw new UsageError('USAGE', "give 'snp' or 'tdx'");
    const { values } = parseArgs(rest, {
      ovmf: { type: 'string' },
      tdvf: { type: 'string' },
      vcpus: { type: 'string' },
      'vcpu-type': { type: 'string' },
      'vcpu-sig': { type: 'string' },
      vmm: { type: 'string' },
      product: { type: 'string' },
      kernel: { type: 'string' },
      initrd: { type: 'string' },
      append: { type: 'string' },
      'guest-features': { type: 'string' },
      'snp-ovmf-hash': { type: 'string' },
      'page-order': { type: 'string' },
      json: { type: 'boolean' },
    });
    let m: Buffer;
    const inputs: Record<string, unknown> = {};
    if (kind === 'snp') {
      if (values.tdvf !== undefined || values['page-order'] !== undefined)
        throw new UsageError('USAGE', '--tdvf/--page-order are for measure tdx');
      const vcpus = Number(values.vcpus);
      if (values.vcpus === undefined || !Number.isInteger(vcpus))
        throw new UsageError('USAGE', '--vcpus N is required');
      const o: SnpMeasureOptions = { ovmf: read(values.ovmf, '--ovmf'), vcpus };
      if (typeof values.vmm === 'string') o.vmm = values.vmm as 'qemu';
      if (typeof values.product === 'string') {
        if (values.product !== 'milan' && values.product !== 'genoa')
          throw new UsageError('USAGE', '--product: milan or genoa');
        o.product = values.product;
      }
      if (typeof values['vcpu-type'] === 'string') o.vcpuType = values['vcpu-type'];
      if (typeof values['vcpu-sig'] === 'string') {
        const sig = Number.parseInt(String(values['vcpu-sig']).replace(/^0x/, ''), 16);
        if (!Number.isInteger(sig) || sig < 0 || sig > 0xffffffff)
          throw new UsageError('USAGE', '--vcpu-sig: 32-bit hex');
        o.vcpuSig = sig;
      }
      if (typeof values.kernel === 'string') o.kernel = read(values.kernel, '--kernel');
      if (typeof values.initrd === 'string') {
        if (!o.kernel) throw new UsageError('USAGE', '--initrd needs --kernel');
        o.initrd = read(values.initrd, '--initrd');
      }
      if (typeof values.append === 'string') {
        if (!o.kernel) throw new UsageError('USAGE', '--append needs --kernel');
        o.append = values.append;
      }
      if (typeof values['guest-features'] === 'string')
        o.guestFeatures = BigInt(
          `0x${hexArg(values['guest-features'].padStart(2, '0'), '--guest-features').toString('hex')}`,
        );
      if (typeof values['snp-ovmf-hash'] === 'string')
        o.ovmfHash = hexArg(values['snp-ovmf-hash'], '--snp-ovmf-hash', 48);
      m = V.measureSnp(o);
      Object.assign(inputs, {
        ovmf: values.ovmf,
        vcpus,
        vcpuType: o.vcpuType,
        vmm: o.vmm ?? 'qemu',
        ...(o.vmm === 'gce' ? { product: o.product ?? 'milan' } : {}),
        kernel: values.kernel,
        initrd: values.initrd,
        append: values.append,
      });
    } else {
      if (values.ovmf !== undefined || values.vcpus !== undefined || values.kernel !== undefined)
        throw new UsageError('USAGE', 'measure tdx takes --tdvf (and --page-order)');
      const order = values['page-order'] ?? 'single-pass';
      if (order !== 'single-pass' && order !== 'two-pass')
        throw new UsageError('USAGE', '--page-order: single-pass or two-pass');
      m = V.measureTdx({ tdvf: read(values.tdvf, '--tdvf'), pageOrder: order });
      Object.assign(inputs, { tdvf: values.tdvf, pageOrder: order });
    }
    const hex = m.toString('hex');
    if (values.json)
      io.out(
        JSON.stringify(
          { kind: kind === 'snp' ? 'sev-snp-measurement' : 'tdx-mrtd', measurement: hex, inputs },
          null,
          2,
        ),
      );
    else io.out(hex);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) return reportUsage('measure', e, io.err, help);
    if (e instanceof V.MeasureError) {
      io.err(`wasmvm-tee measure: ${e.code}: ${e.message}`);
      return EXIT.USAGE;
    }
    throw e;
  }
}
