#!/usr/bin/env python3
"""Independent gRPC client for wasmvm-tee (Debian python3-grpcio + python3-protobuf).

Usage: client.py HOST:PORT DESCRIPTOR_SET WASM

The message classes come from a FileDescriptorSet compiled from proto/ by `buf build` (not from the
TypeScript code). The request is built exactly as the original API describes it: base64 bytecode,
string inputs, a mode and a gas limit. Following docs/binding.md (claim v3), the input side is recomputed
here from what this client sent and must be the first half of result.claim; REPORT_DATA recomputed from
the claim must equal result.report_data; and the output side's status and outputs (parsed from the
claim) must equal what the response shows.
Prints one JSON object with what it saw; exits non-zero on any mismatch.
"""
import base64
import hashlib
import json
import os
import struct
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

INPUT_DOMAIN = b"wasmvm-tee/claim/input/v3"
OUTPUT_DOMAIN = b"wasmvm-tee/claim/output/v3"
T_ABSENT, T_BYTES, T_STRING, T_U64, T_VALUES, T_STRINGS, T_I64, T_BOOL = 0, 1, 2, 3, 4, 5, 6, 7
TYPE_CODE = {1: 0x7F, 2: 0x7E, 3: 0x7D, 4: 0x7C}  # ValueType -> Wasm value type code
MODE_NAME = {0: "interp", 1: "singlepass", 2: "multipass"}


def field(fid, ftype, value=b""):
    return struct.pack(">BBI", fid, ftype, len(value)) + value


def absent(fid):
    return field(fid, T_ABSENT)


def strings(lst):
    out = struct.pack(">I", len(lst))
    for s in lst:
        b = s.encode("utf-8")
        out += struct.pack(">I", len(b)) + b
    return out


def values(vals):
    out = struct.pack(">I", len(vals))
    for v in vals:
        code = TYPE_CODE[v.type]
        wide = v.type in (2, 4)
        bits = v.bits  # exact bits, always set by the server
        out += struct.pack(">BQ" if wide else ">BI", code, bits)
    return out


def input_side(bytecode, fn, inputs, mode, gas_limit, nonce):
    s = field(1, T_STRING, INPUT_DOMAIN)
    s += field(2, T_BYTES, hashlib.sha256(bytecode).digest())
    s += field(3, T_STRING, fn.encode())
    s += field(4, T_STRINGS, strings(inputs))
    s += field(5, T_STRING, MODE_NAME[mode].encode())
    s += field(6, T_U64, struct.pack(">Q", gas_limit)) if gas_limit is not None else absent(6)
    s += field(7, T_BYTES, nonce) if nonce else absent(7)
    s += field(8, T_BOOL, b"\x00")  # meter: not set
    s += field(9, T_STRING, b"default")  # attestation mode: the server's default
    s += field(10, T_BOOL, b"\x00")  # no GPU evidence asked for
    return s


def split_claim(claim):
    """encodeClaim = u32be len ‖ input side ‖ u32be len ‖ output side."""
    n = struct.unpack(">I", claim[:4])[0]
    ins = claim[4 : 4 + n]
    m = struct.unpack(">I", claim[4 + n : 8 + n])[0]
    outs = claim[8 + n : 8 + n + m]
    assert len(claim) == 8 + n + m
    return ins, outs


def fields(side):
    out, i = {}, 0
    while i < len(side):
        fid, ftype, n = struct.unpack(">BBI", side[i : i + 6])
        out[fid] = (ftype, side[i + 6 : i + 6 + n])
        i += 6 + n
    return out


def main():
    target, fds_path, wasm_path = sys.argv[1:4]
    fds = descriptor_pb2.FileDescriptorSet()
    with open(fds_path, "rb") as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    factory = message_factory.MessageFactory(pool)

    def cls(name):
        return factory.GetPrototype(pool.FindMessageTypeByName(name))

    Request = cls("wasm.WASMVMExecutionRequest")
    Response = cls("wasm.WASMVMExecutionResponse")
    HealthReq = cls("grpc.health.v1.HealthCheckRequest")
    HealthRes = cls("grpc.health.v1.HealthCheckResponse")

    with open(wasm_path, "rb") as f:
        bytecode = f.read()
    nonce = os.urandom(32)
    req = Request()
    req.execution.version = "1"
    req.execution.request_id = "python-1"
    req.execution.bytecode = base64.b64encode(bytecode).decode()
    req.execution.fn_name = "add"
    req.execution.inputs.extend(["20", "22"])
    req.execution.timestamp = 1700000000
    req.execution.nonce = nonce
    req.runtime_config.mode = 1  # WASMVM_MODE_SINGLEPASS
    req.runtime_config.gas_limit.use_gas_limit = True
    req.runtime_config.gas_limit.limit = 1000000

    channel = grpc.insecure_channel(target)
    execute = channel.unary_unary(
        "/wasm.WASMVMTeeService/Execute",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=Response.FromString,
    )
    res = execute(req, timeout=60)
    r = res.result
    out = {
        "request_id": res.request_id,
        "status": r.status,
        "outputs": [{"type": v.type, "int32_value": v.int32_value, "bits": v.bits} for v in r.output_values],
        "gas_used": r.gas_used if r.HasField("gas_used") else None,
        "report_data": r.report_data,
        "inputs": list(r.inputs),
    }
    ins = input_side(bytecode, "add", ["20", "22"], 1, 1000000, nonce)
    claim_in, claim_out = split_claim(r.claim)
    out["input_side_matches"] = ins == claim_in
    recomputed = (hashlib.sha256(ins).digest() + hashlib.sha256(claim_out).digest()).hex()
    out["recomputed_report_data"] = recomputed
    of = fields(claim_out)
    out["claim_status"] = of[3][1].decode()
    out["claim_outputs_match"] = of[4][1] == values(r.output_values)
    out["claim_simulated"] = of[14][1] == b"\x01"
    env = json.loads(r.attestation)
    out["envelope_report_data"] = env.get("reportData")
    out["envelope_nonce"] = env.get("claim", {}).get("nonce")
    out["nonce"] = nonce.hex()

    # An error with its detail code (trailer), then health.
    bad = Request()
    bad.CopyFrom(req)
    bad.execution.fn_name = "no_such_function"
    try:
        execute(bad, timeout=60)
        out["error"] = None
    except grpc.RpcError as e:
        md = dict(e.trailing_metadata() or ())
        out["error"] = {"code": e.code().name, "detail": md.get("wasmvm-error-code")}
    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=HealthRes.FromString,
    )
    out["health"] = check(HealthReq(), timeout=10).status

    # Reflection (v1 and v1alpha), as grpcurl does it: list services, fetch the file that declares
    # WASMVMTeeService, load it into a fresh pool and build a request from it.
    RefReq = cls("grpc.reflection.v1.ServerReflectionRequest")
    RefRes = cls("grpc.reflection.v1.ServerReflectionResponse")
    for version in ("v1", "v1alpha"):
        stream = channel.stream_stream(
            "/grpc.reflection.%s.ServerReflection/ServerReflectionInfo" % version,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=RefRes.FromString,
        )
        reqs = [RefReq(list_services="*"), RefReq(file_containing_symbol="wasm.WASMVMTeeService")]
        answers = list(stream(iter(reqs), timeout=30))
        services = sorted(s.name for s in answers[0].list_services_response.service)
        fresh = descriptor_pool.DescriptorPool()
        protos = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in answers[1].file_descriptor_response.file_descriptor_proto]
        for fdp in reversed(protos):  # dependencies after the file: add them first
            fresh.Add(fdp)
        svc = fresh.FindServiceByName("wasm.WASMVMTeeService")
        method = svc.FindMethodByName("Execute")
        ReqFromReflection = message_factory.MessageFactory(fresh).GetPrototype(method.input_type)
        rebuilt = ReqFromReflection.FromString(req.SerializeToString())
        out["reflection_" + version] = {
            "services": services,
            "file": protos[0].name,
            "methods": [m.name for m in svc.methods],
            "input": method.input_type.full_name,
            "roundtrip_fn": rebuilt.execution.fn_name,
        }
    print(json.dumps(out))
    ok = (
        recomputed == r.report_data
        and out["input_side_matches"]
        and out["claim_status"] == r.status
        and out["claim_outputs_match"]
        and out["claim_simulated"] == r.simulated
        and r.status == "ok"
        and len(r.output_values) == 1
        and r.output_values[0].int32_value == 42
        and out["envelope_nonce"] == nonce.hex()
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
