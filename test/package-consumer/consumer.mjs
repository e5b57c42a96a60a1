// A plain-JavaScript consumer of the installed package (no TypeScript, no loader): imports every
// entry point, runs a module with the engine, then executes it on a server and verifies the
// attested response, trusting the simulated TEE's root explicitly (the file given in argv[3]).
// Usage: node consumer.mjs <server-url> <simulated-root.pem> <module.wasm>
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as pkg from 'wasmvm-tee';
import * as binding from 'wasmvm-tee/binding';
import { createWasmvmClient, executeAndVerify } from 'wasmvm-tee/client';
import * as engine from 'wasmvm-tee/engine';
import * as formats from 'wasmvm-tee/formats';
import * as verify from 'wasmvm-tee/verify';

const [url, rootFile, wasmFile] = process.argv.slice(2);
assert.equal(typeof pkg.VERSION, 'string');
assert.equal(typeof binding, 'object');
assert.equal(typeof formats.parseReport, 'function');
assert.equal(pkg.formats.serializeTdxQuote, formats.serializeTdxQuote);
assert.equal(typeof verify.verifyExecution, 'function');
assert.equal(pkg.verifyExecution, verify.verifyExecution);

const bytecode = new Uint8Array(readFileSync(wasmFile));
const local = await engine.execute({ bytecode, fn: 'fib', args: [{ type: 'i32', value: 20 }] });
assert.equal(local.status, 'ok', local.message);
await engine.closeDefaultEngine();

const client = createWasmvmClient({ baseUrl: url });
const trustSimulatedRoot = new Uint8Array(readFileSync(rootFile));
const r = await executeAndVerify(client, { bytecode, fn: 'fib', args: ['20'] }, { trustSimulatedRoot });
assert.equal(r.verdict.ok, true, JSON.stringify(r.verdict.checks.filter((c) => c.outcome === 'fail')));
assert.equal(r.status, 'ok');
assert.deepEqual(r.outputs, local.outputs);
assert.deepEqual(r.outputs, [{ type: 'i64', value: 6765n }]);

// Without trusting the simulated root the same response must be rejected.
const untrusted = await executeAndVerify(client, { bytecode, fn: 'fib', args: ['20'] });
assert.equal(untrusted.verdict.ok, false);
console.log(JSON.stringify({ ok: true, outputs: r.outputs.map((v) => `${v.type}:${String(v.value)}`) }));
