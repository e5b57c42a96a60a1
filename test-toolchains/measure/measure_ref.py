#!/usr/bin/env python3
"""Independent reference computation of SEV-SNP launch digests and TDX MRTDs (stdlib only).

Written from the specifications, not from src/verify/reference/measure.ts:
  * AMD SEV-SNP ABI spec, SNP_LAUNCH_UPDATE: PAGE_INFO = LD(48) | CONTENTS(48) | LENGTH u16 = 0x70 |
    PAGE_TYPE u8 | IMI u8 | VMPL3 u8 | VMPL2 u8 | VMPL1 u8 | rsvd u8 | GPA u64; LD' = SHA-384(PAGE_INFO).
    Page types: 1 normal, 2 VMSA, 3 zero, 5 secrets, 6 CPUID.
  * OVMF (edk2 OvmfPkg/ResetVector): GUIDed footer table ending 32 bytes before the end; SEV metadata
    ("ASEV", version 1, {gpa u32, size u32, type u32}*); SEV-ES reset block; QEMU's SEV hash table.
  * AMD APM vol. 2 table B-4 (VMSA layout) for the initial vCPU state that QEMU/KVM set.
  * Intel TDX module ABI (TDH.MEM.PAGE.ADD, TDH.MR.EXTEND) and the TDVF metadata layout.

usage: measure_ref.py snp FILE VCPUS VMM SIG [KERNEL INITRD APPEND]
       measure_ref.py tdx FILE single-pass|two-pass
"""
import hashlib
import struct
import sys
import uuid


def le_guid(s):
    return uuid.UUID(s).bytes_le


def footer_table(fw):
    end = len(fw) - 32
    assert fw[end - 16:end] == le_guid("96b582de-1fb2-45f7-baea-a366c55a082d"), "no footer"
    (total,) = struct.unpack_from("<H", fw, end - 18)
    body = fw[end - total:end - 18]
    out = {}
    while len(body) >= 18:
        guid = str(uuid.UUID(bytes_le=bytes(body[-16:])))
        (size,) = struct.unpack_from("<H", body, len(body) - 18)
        out[guid] = body[len(body) - size:len(body) - 18]
        body = body[:len(body) - size]
    return out


def snp(fw, vcpus, vmm, sig, kernel=None, initrd=None, append=None):
    table = footer_table(fw)
    ld = bytes(48)

    def upd(ptype, gpa, contents):
        nonlocal ld
        ld = hashlib.sha384(ld + contents + struct.pack("<HBBBBBBQ", 0x70, ptype, 0, 0, 0, 0, 0, gpa)).digest()

    base = 0x100000000 - len(fw)
    for off in range(0, len(fw), 4096):
        upd(1, base + off, hashlib.sha384(fw[off:off + 4096]).digest())
    (meta_off,) = struct.unpack_from("<I", table["dc886566-984a-4798-a75e-5585a7bf67cc"], 0)
    start = len(fw) - meta_off
    sig_, length, version, count = struct.unpack_from("<4sIII", fw, start)
    assert sig_ == b"ASEV" and version == 1
    sections = [struct.unpack_from("<III", fw, start + 16 + 12 * i) for i in range(count)]
    hashes_page = None
    if kernel is not None:
        def h(b):
            return hashlib.sha256(b).digest()
        ent = lambda g, d: le_guid(g) + struct.pack("<H", 50) + d  # noqa: E731
        body = (ent("97d02dd8-bd20-4c94-aa78-e7714d36ab2a", h(append.encode() + b"\0"))
                + ent("44baf731-3a2f-4bd7-9af1-41e29169781d", h(initrd))
                + ent("4de79437-abd2-427f-b835-d5b172d2045b", h(kernel)))
        tbl = le_guid("9438d606-4f22-4cc9-b479-a793d411fd21") + struct.pack("<H", 18 + len(body)) + body
        tbl += bytes((-len(tbl)) % 16)
        (tgpa,) = struct.unpack_from("<I", table["7255371f-3a3b-4b04-927b-1da6efa8d454"], 0)
        page = bytearray(4096)
        page[tgpa & 0xfff:(tgpa & 0xfff) + len(tbl)] = tbl
        hashes_page = bytes(page)
    for gpa, size, typ in sections:
        if typ in (1, 4):
            for off in range(0, size, 4096):
                upd(3, gpa + off, bytes(48))
        elif typ == 2:
            upd(5, gpa, bytes(48))
        elif typ == 3:
            if vmm != "ec2":
                upd(6, gpa, bytes(48))
        elif typ == 0x10:
            if hashes_page is not None:
                upd(1, gpa, hashlib.sha384(hashes_page).digest())
            else:
                for off in range(0, size, 4096):
                    upd(3, gpa + off, bytes(48))
        else:
            raise ValueError(typ)
    if vmm == "ec2":
        for gpa, size, typ in sections:
            if typ == 3:
                upd(6, gpa, bytes(48))
    (ap_eip,) = struct.unpack_from("<I", table.get("00f771de-1a7e-4fcb-890e-68c77e2fb44e", bytes(4)), 0)

    def vmsa(eip):
        v = bytearray(4096)
        if vmm == "ec2":
            cs, ss, tr, rdx = (0x9a if eip == 0xfffffff0 else 0x9b), 0x92, 0x83, 0
        else:
            cs, ss, tr, rdx = 0x9b, 0x93, 0x8b, sig
        segs = [(0, 0x93, 0xffff, 0), (0xf000, cs, 0xffff, eip & 0xffff0000), (0, ss, 0xffff, 0),
                (0, 0x93, 0xffff, 0), (0, 0x93, 0xffff, 0), (0, 0x93, 0xffff, 0), (0, 0, 0xffff, 0),
                (0, 0x82, 0xffff, 0), (0, 0, 0xffff, 0), (0, tr, 0xffff, 0)]
        for i, s in enumerate(segs):
            struct.pack_into("<HHIQ", v, 16 * i, *s)
        for off, val in ((0xd0, 0x1000), (0x148, 0x40), (0x158, 0x10), (0x160, 0x400), (0x168, 0xffff0ff0),
                         (0x170, 2), (0x178, eip & 0xffff), (0x268, 0x7040600070406), (0x310, rdx),
                         (0x3b0, 1), (0x3e8, 1)):
            struct.pack_into("<Q", v, off, val)
        return hashlib.sha384(bytes(v)).digest()

    for i in range(vcpus):
        upd(2, 0xFFFFFFFFF000, vmsa(0xfffffff0 if i == 0 else ap_eip))
    return ld


def tdx(fw, order):
    table = footer_table(fw)
    entry = table["e47a6535-984a-4798-865e-4685a7bf8ec2"]
    (off,) = struct.unpack_from("<I", entry, len(entry) - 4)
    start = len(fw) - off
    sig_, _len, version, count = struct.unpack_from("<4sIII", fw, start)
    assert sig_ == b"TDVF" and version == 1
    h = hashlib.sha384()

    def rec(name, gpa):
        h.update(name + bytes(16 - len(name)) + struct.pack("<Q", gpa) + bytes(104))

    for i in range(count):
        doff, raw, addr, size, typ, attr = struct.unpack_from("<IIQQII", fw, start + 16 + 32 * i)
        pages = size // 4096
        adds = [] if attr & 2 else [addr + p * 4096 for p in range(pages)]
        ext = (lambda p: [(addr + p * 4096 + c * 256, fw[doff + p * 4096 + c * 256:doff + p * 4096 + c * 256 + 256])
                          for c in range(16)]) if attr & 1 else (lambda p: [])
        if order == "two-pass":
            for g in adds:
                rec(b"MEM.PAGE.ADD", g)
            for p in range(pages):
                for g, d in ext(p):
                    rec(b"MR.EXTEND", g)
                    h.update(d)
        else:
            for p in range(pages):
                if not attr & 2:
                    rec(b"MEM.PAGE.ADD", addr + p * 4096)
                for g, d in ext(p):
                    rec(b"MR.EXTEND", g)
                    h.update(d)
    return h.digest()


if __name__ == "__main__":
    mode, path = sys.argv[1], sys.argv[2]
    data = open(path, "rb").read()
    if mode == "snp":
        vcpus, vmm, sig = int(sys.argv[3]), sys.argv[4], int(sys.argv[5], 16)
        k = i = a = None
        if len(sys.argv) > 6:
            k, i, a = open(sys.argv[6], "rb").read(), open(sys.argv[7], "rb").read(), sys.argv[8]
        print(snp(data, vcpus, vmm, sig, k, i, a).hex())
    else:
        print(tdx(data, sys.argv[3]).hex())
