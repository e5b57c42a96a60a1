// A strict TypeScript consumer (module nodenext, no DOM lib, skipLibCheck off): it type-checks
// against the package's published declarations only.
import { VERSION, type Verdict, verifyExecution } from 'wasmvm-tee';
import { type AttestationEnvelope, parseEnvelope } from 'wasmvm-tee/binding';
import { createWasmvmClient, type ExecuteAndVerifyResult, executeAndVerify } from 'wasmvm-tee/client';
import { Engine, type ExecuteRequest, type ExecuteResult, type WasmValue } from 'wasmvm-tee/engine';
import { verifyTdxQuote } from 'wasmvm-tee/verify';

export async function run(bytecode: Uint8Array, url: string): Promise<string> {
  const req: ExecuteRequest = { bytecode, fn: 'fib', args: [{ type: 'i32', value: 20 }] };
  const engine = new Engine();
  const local: ExecuteResult = await engine.execute(req);
  await engine.close();
  const first: WasmValue | undefined = local.outputs[0];
  const client = createWasmvmClient({ baseUrl: url });
  const r: ExecuteAndVerifyResult = await executeAndVerify(client, { bytecode, fn: 'fib', args: ['20'] });
  const v: Verdict = r.verdict;
  const envelope: AttestationEnvelope | undefined = r.envelope;
  void parseEnvelope;
  void verifyTdxQuote;
  void verifyExecution;
  return `${VERSION} ${String(first?.type)} ${v.ok} ${envelope ? 'envelope' : 'none'}`;
}
