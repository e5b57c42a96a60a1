/**
 * SEV-SNP evidence through `/dev/sev-guest` ioctls (linux/sev-guest.h), via koffi (optional dependency,
 * loaded lazily). Struct packing is pure and tested with recorded bytes; the ioctl itself needs an SNP guest.
 *
 *   struct snp_report_req     { u8 user_data[64]; u32 vmpl; u8 rsvd[28]; }                  96 bytes
 *   struct snp_ext_report_req { struct snp_report_req data; u64 certs_address; u32 certs_len; } 112 (padded)
 *   struct snp_report_resp    { u8 data[4000]; }   data = MSG_REPORT_RSP: u32 status, u32 report_size,
 *                                                  u8 rsvd[24], ATTESTATION_REPORT (1184)
 *   struct snp_guest_request_ioctl { u8 msg_version; u64 req_data; u64 resp_data;
 *                                    union { u64 exitinfo2; struct { u32 fw_error; u32 vmm_error; } } }  32
 *   SNP_GET_REPORT = _IOWR('S', 0x0, struct snp_guest_request_ioctl) = 0xC0205300
 *   SNP_GET_EXT_REPORT = _IOWR('S', 0x2, ...) = 0xC0205302
 */
import { certsFromTable, parseCertTable, REPORT_SIZE } from '../../formats/index.ts';
import { TeeError } from '../errors.ts';
import type { CpuEvidence, TeeProvider } from '../types.ts';

export const SEV_GUEST_DEVICE = '/dev/sev-guest';
const IOC = (nr: number, size: number) => ((3 << 30) | (size << 16) | (0x53 << 8) | nr) >>> 0;
export const SNP_GET_REPORT = IOC(0x0, 32);
export const SNP_GET_EXT_REPORT = IOC(0x2, 32);
export const SNP_REPORT_RESP_SIZE = 4000;
/** vmm_error values (linux/sev-guest.h). */
export const SNP_GUEST_VMM_ERR_INVALID_LEN = 1;
export const SNP_GUEST_VMM_ERR_BUSY = 2;
const EAGAIN = 11;
const EIO = 5;

export function packReportReq(reportData: Uint8Array, vmpl: number): Uint8Array {
  if (reportData.length !== 64) throw new TeeError('TEE_BAD_REPORT_DATA', 'REPORT_DATA must be 64 bytes');
  const b = new Uint8Array(96);
  b.set(reportData, 0);
  new DataView(b.buffer).setUint32(64, vmpl, true);
  return b;
}

export function packExtReportReq(
  reportData: Uint8Array,
  vmpl: number,
  certsAddress: bigint,
  certsLen: number,
): Uint8Array {
  const b = new Uint8Array(112);
  b.set(packReportReq(reportData, vmpl), 0);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(96, certsAddress, true);
  dv.setUint32(104, certsLen, true);
  return b;
}

export function packGuestRequest(reqAddr: bigint, respAddr: bigint, msgVersion = 1): Uint8Array {
  const b = new Uint8Array(32);
  const dv = new DataView(b.buffer);
  b[0] = msgVersion;
  dv.setBigUint64(8, reqAddr, true);
  dv.setBigUint64(16, respAddr, true);
  return b;
}

export function unpackGuestRequest(b: Uint8Array): {
  msgVersion: number;
  fwError: number;
  vmmError: number;
  exitinfo2: bigint;
} {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    msgVersion: b[0]!,
    exitinfo2: dv.getBigUint64(24, true),
    fwError: dv.getUint32(24, true),
    vmmError: dv.getUint32(28, true),
  };
}

/** MSG_REPORT_RSP → the report. Throws when the firmware status is non-zero or the size is wrong. */
export function unpackReportResp(b: Uint8Array): Uint8Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const status = dv.getUint32(0, true);
  const size = dv.getUint32(4, true);
  if (status !== 0)
    throw new TeeError('TEE_FIRMWARE_ERROR', `MSG_REPORT_RSP status 0x${status.toString(16)}`);
  if (size !== REPORT_SIZE || 32 + size > b.length)
    throw new TeeError('TEE_FIRMWARE_ERROR', `MSG_REPORT_RSP report_size ${size}, expected ${REPORT_SIZE}`);
  return b.slice(32, 32 + size);
}

interface Koffi {
  load(path: string): { func(sig: string): (...a: unknown[]) => number };
  alloc(type: string, n: number): unknown;
  free(p: unknown): void;
  address(p: unknown): bigint;
  encode(ref: unknown, type: string, value: unknown, len?: number): void;
  decode(ref: unknown, type: string, len?: number): unknown;
  errno(): number;
}

async function loadKoffi(): Promise<Koffi> {
  try {
    const m = (await import('koffi')) as unknown as { default?: Koffi } & Koffi;
    return (m.default ?? m) as Koffi;
  } catch (e) {
    throw new TeeError(
      'TEE_FFI_UNAVAILABLE',
      `the /dev/sev-guest provider needs the optional dependency 'koffi' (npm install koffi): ${(e as Error).message}`,
    );
  }
}

export interface IoctlOptions {
  device?: string;
  vmpl?: number;
  /** Fetch the certificate table too (SNP_GET_EXT_REPORT). Default true. */
  extended?: boolean;
  /** Retries on EAGAIN / VMM busy (throttling), with exponential backoff from 10 ms. Default 8. */
  retries?: number;
}

export class SevGuestIoctlProvider implements TeeProvider {
  readonly kind = 'sev-snp' as const;
  readonly simulated = false;
  readonly description: string;
  private readonly opts: IoctlOptions;

  constructor(opts: IoctlOptions = {}) {
    this.opts = opts;
    this.description = `AMD SEV-SNP via ${opts.device ?? SEV_GUEST_DEVICE} ioctl`;
  }

  async getEvidence(reportData: Uint8Array): Promise<CpuEvidence> {
    const k = await loadKoffi();
    const libc = k.load('libc.so.6');
    const open = libc.func('int open(const char *path, int flags)');
    const close = libc.func('int close(int fd)');
    const ioctl = libc.func('int ioctl(int fd, unsigned long req, void *arg)');
    const device = this.opts.device ?? SEV_GUEST_DEVICE;
    const fd = open(device, 2 /* O_RDWR */);
    if (fd < 0) throw new TeeError('TEE_UNAVAILABLE', `cannot open ${device}: errno ${k.errno()}`);
    const bufs: unknown[] = [];
    const alloc = (n: number) => {
      const p = k.alloc('uint8_t', n);
      bufs.push(p);
      return p;
    };
    try {
      const vmpl = this.opts.vmpl ?? 0;
      const extended = this.opts.extended ?? true;
      let certsLen = extended ? 4 * 4096 : 0;
      for (let attempt = 0; ; attempt++) {
        const certs = extended ? alloc(certsLen) : undefined;
        const req = extended
          ? packExtReportReq(reportData, vmpl, k.address(certs), certsLen)
          : packReportReq(reportData, vmpl);
        const reqP = alloc(req.length);
        k.encode(reqP, 'uint8_t', Array.from(req), req.length);
        const respP = alloc(SNP_REPORT_RESP_SIZE);
        const io = packGuestRequest(k.address(reqP), k.address(respP));
        const ioP = alloc(32);
        k.encode(ioP, 'uint8_t', Array.from(io), 32);
        const rc = ioctl(fd, extended ? SNP_GET_EXT_REPORT : SNP_GET_REPORT, ioP);
        const errno = rc < 0 ? k.errno() : 0;
        const ioOut = unpackGuestRequest(Uint8Array.from(k.decode(ioP, 'uint8_t', 32) as number[]));
        if (rc < 0) {
          if (extended && ioOut.vmmError === SNP_GUEST_VMM_ERR_INVALID_LEN) {
            // The host needs a bigger certificate buffer: certs_len was updated (in bytes) in the request.
            const reqOut = Uint8Array.from(k.decode(reqP, 'uint8_t', req.length) as number[]);
            const need = new DataView(reqOut.buffer).getUint32(104, true);
            if (need <= certsLen || attempt > 3)
              throw new TeeError('TEE_FIRMWARE_ERROR', 'certificate buffer size loop');
            certsLen = Math.ceil(need / 4096) * 4096; // the kernel wants a page multiple
            continue;
          }
          const busy = errno === EAGAIN || ioOut.vmmError === SNP_GUEST_VMM_ERR_BUSY;
          if (busy && attempt < (this.opts.retries ?? 8)) {
            await new Promise((r) => setTimeout(r, 10 * 2 ** attempt));
            continue;
          }
          throw new TeeError(
            errno === EIO ? 'TEE_FIRMWARE_ERROR' : 'TEE_IOCTL_FAILED',
            `SNP_GET_${extended ? 'EXT_' : ''}REPORT failed: errno ${errno}, fw_error 0x${ioOut.fwError.toString(16)}, vmm_error ${ioOut.vmmError}`,
          );
        }
        const resp = Uint8Array.from(k.decode(respP, 'uint8_t', SNP_REPORT_RESP_SIZE) as number[]);
        const report = unpackReportResp(resp);
        const ev: CpuEvidence = { kind: 'sev-snp', simulated: false, report, provider: 'sev-guest-ioctl' };
        if (extended && certs) {
          const table = Uint8Array.from(k.decode(certs, 'uint8_t', certsLen) as number[]);
          if (!table.subarray(0, 24).every((b) => b === 0)) {
            ev.auxblob = table;
            ev.certs = certsFromTable(parseCertTable(table));
          }
        }
        return ev;
      }
    } finally {
      for (const p of bufs) k.free(p);
      close(fd);
    }
  }
}
