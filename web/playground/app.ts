/**
 * The playground page (served by `wasmvm-tee serve` at `/`, and as one self-contained HTML file): pick an
 * example or upload a module, see its exported functions, enter typed inputs, run it on the service and
 * verify the response in the page; or verify a saved response with no server at all.
 * It exposes `window.wasmvmTee` to scripts and tests: `verifyResponse(response, opts)` and the verifier.
 */
import type { AttestationMode, ExecutionMode, WasmValue } from '../../src/binding/index.ts';
import { renderValue } from '../../src/binding/index.ts';
import type { Check, Verdict } from '../../src/verify/browser.ts';
import * as verifier from '../../src/verify/browser.ts';
import kernelsWasm from '../../test/fixtures/c/kernels.wasm';
import { evidenceRows } from './evidence.ts';
import { type ExportedFunction, listFunctionExports, signatureText } from './exports.ts';
import { type RunResult, runAndVerify } from './run.ts';
import { type NumberType, parseValue } from './values.ts';
import { verifyResponse } from './verify-response.ts';

interface Example {
  name: string;
  bytes: Uint8Array;
  fn: string;
  args: string[];
}

const EXAMPLES: Example[] = [
  {
    name: 'C kernels: fib, gcd, hypot, div (test/fixtures/c/kernels.wasm)',
    bytes: kernelsWasm,
    fn: 'fib',
    args: ['30'],
  },
];

declare global {
  interface Window {
    wasmvmTee: {
      verifyResponse: typeof verifyResponse;
      verifier: typeof verifier;
      examples: readonly string[];
    };
  }
}
window.wasmvmTee = { verifyResponse, verifier, examples: EXAMPLES.map((e) => e.name) };

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page: #${id} missing`);
  return el as T;
};
const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  cls?: string,
): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
};

// ---------------------------------------------------------------- tabs (WAI-ARIA tabs pattern)
const tabs = [$<HTMLButtonElement>('tab-run'), $<HTMLButtonElement>('tab-verify')];
function selectTab(t: HTMLButtonElement, focus = false): void {
  for (const x of tabs) {
    const on = x === t;
    x.setAttribute('aria-selected', String(on));
    x.tabIndex = on ? 0 : -1;
    $(x.getAttribute('aria-controls')!).hidden = !on;
  }
  if (focus) t.focus();
}
for (const [i, t] of tabs.entries()) {
  t.addEventListener('click', () => selectTab(t));
  t.addEventListener('keydown', (e) => {
    const k = e.key;
    const next =
      k === 'ArrowRight'
        ? i + 1
        : k === 'ArrowLeft'
          ? i - 1
          : k === 'Home'
            ? 0
            : k === 'End'
              ? tabs.length - 1
              : -1;
    if (next === -1) return;
    e.preventDefault();
    selectTab(tabs[(next + tabs.length) % tabs.length]!, true);
  });
}

// ---------------------------------------------------------------- verdict rendering
function renderVerdict(v: Verdict, response: unknown, prefix: 'run' | 'verify'): void {
  const head = $(`${prefix}-verdict`);
  head.textContent = v.ok ? 'VERIFIED' : 'FAILED';
  head.className = `verdict ${v.ok ? 'ok' : 'failed'}`;
  const dl = $(`${prefix}-evidence`);
  dl.replaceChildren();
  for (const r of evidenceRows(v, response)) dl.append(el('dt', r.label), el('dd', r.value));
  const body = $(`${prefix}-checks`);
  body.replaceChildren();
  const walk = (x: Verdict, path: string) => {
    for (const c of x.checks as Check[]) {
      const tr = el('tr');
      tr.dataset.check = c.id;
      tr.dataset.outcome = c.outcome;
      tr.append(
        el('td', path),
        el('td', c.id, 'mono'),
        el('td', c.outcome, c.outcome),
        el('td', c.detail, 'detail'),
      );
      body.append(tr);
    }
    for (const p of x.parts ?? []) walk(p, `${path} › ${p.kind}`);
  };
  walk(v, v.kind);
}

// ---------------------------------------------------------------- run tab
let bytecode: Uint8Array | undefined;
let fns: ExportedFunction[] = [];
let lastRun: RunResult | undefined;

function showError(id: string, e: unknown): void {
  const code = (e as { code?: unknown } | undefined)?.code;
  $(id).textContent =
    e instanceof Error ? `${typeof code === 'string' ? `${code}: ` : ''}${e.message}` : String(e);
}

function chosenFn(): ExportedFunction | undefined {
  const r = document.querySelector<HTMLInputElement>('input[name=fn]:checked');
  return fns.find((f) => f.name === r?.value);
}

function renderInputs(values: string[] = []): void {
  const box = $('inputs');
  box.replaceChildren();
  const f = chosenFn();
  if (!f) return;
  if (f.params.length === 0) box.append(el('p', 'This function takes no inputs.', 'note'));
  for (const [i, t] of f.params.entries()) {
    const id = `arg-${i}`;
    const label = el('label', `Input ${i + 1} (${t})`);
    label.htmlFor = id;
    const input = el('input');
    input.type = 'text';
    input.id = id;
    input.dataset.type = t;
    input.autocomplete = 'off';
    input.spellcheck = false;
    input.value = values[i] ?? '0';
    box.append(label, input);
  }
}

function loadModule(bytes: Uint8Array, source: string, fn?: string, args?: string[]): void {
  const info = $('module-info');
  const list = $('exports');
  list.replaceChildren();
  $('run-error').textContent = '';
  try {
    fns = listFunctionExports(bytes);
    bytecode = bytes;
  } catch (e) {
    fns = [];
    bytecode = undefined;
    info.textContent = '';
    showError('run-error', e);
    renderInputs();
    return;
  }
  info.textContent = `${source}: ${bytes.length} bytes, ${fns.length} exported function${fns.length === 1 ? '' : 's'}`;
  const pick = fns.find((f) => f.name === fn && f.callable) ?? fns.find((f) => f.callable);
  for (const f of fns) {
    const label = el('label');
    const radio = el('input');
    radio.type = 'radio';
    radio.name = 'fn';
    radio.value = f.name;
    radio.disabled = !f.callable;
    radio.checked = f === pick;
    radio.addEventListener('change', () => renderInputs());
    label.append(radio, el('span', signatureText(f)));
    if (!f.callable) label.append(el('span', '(not callable: non-number types)', 'hint'));
    list.append(label);
  }
  renderInputs(pick?.name === fn ? args : []);
}

const exampleSelect = $<HTMLSelectElement>('example');
for (const [i, ex] of EXAMPLES.entries()) {
  const o = el('option', ex.name);
  o.value = String(i);
  exampleSelect.append(o);
}
const loadExample = () => {
  const ex = EXAMPLES[Number(exampleSelect.value)]!;
  loadModule(ex.bytes, 'example', ex.fn, ex.args);
};
exampleSelect.addEventListener('change', loadExample);
$<HTMLInputElement>('wasm-file').addEventListener('change', async (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file) loadModule(new Uint8Array(await file.arrayBuffer()), file.name);
});
loadExample();

function pemList(id: string): string[] {
  const t = $<HTMLTextAreaElement>(id).value.trim();
  return t === '' ? [] : [t];
}

$<HTMLFormElement>('run-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const err = $('run-error');
  err.textContent = '';
  const f = chosenFn();
  if (!bytecode || !f) {
    err.textContent = 'Choose a module and one of its functions.';
    return;
  }
  let args: WasmValue[];
  let gasLimit: bigint | undefined;
  try {
    args = f.params.map((t, i) =>
      parseValue(t as NumberType, $<HTMLInputElement>(`arg-${i}`).value, `input ${i + 1} (${t})`),
    );
    const gas = $<HTMLInputElement>('gas').value.trim();
    if (gas !== '') {
      if (!/^[0-9]+$/.test(gas) || BigInt(gas) < 1n || BigInt(gas) >= 2n ** 63n)
        throw new Error('gas limit: an integer in 1..2^63-1');
      gasLimit = BigInt(gas);
    }
  } catch (x) {
    showError('run-error', x);
    return;
  }
  const button = $<HTMLButtonElement>('run-button');
  button.disabled = true;
  button.textContent = 'Running…';
  try {
    lastRun = await runAndVerify({
      bytecode,
      fn: f.name,
      args,
      mode: $<HTMLSelectElement>('mode').value as ExecutionMode,
      ...(gasLimit !== undefined ? { gasLimit } : {}),
      attestationMode: $<HTMLSelectElement>('attestation').value as AttestationMode | 'default',
      trustSimulatedRoot: pemList('run-root'),
      sealed: $<HTMLInputElement>('sealed').checked,
    });
    showRun(lastRun);
  } catch (x) {
    showError('run-error', x);
  } finally {
    button.disabled = false;
    button.textContent = 'Run and verify';
  }
});

function showRun(r: RunResult): void {
  const res = r.response.result;
  const dl = $('run-summary');
  dl.replaceChildren();
  const add = (k: string, v: string) => dl.append(el('dt', k), el('dd', v));
  add('Request id', r.response.requestId);
  add('Status', `${res?.status ?? '?'}${res?.trapMessage ? ` (${res.trapMessage})` : ''}`);
  add('Outputs', r.outputs.map((v) => `${v.type}:${renderValue(v)}`).join(' ') || '(none)');
  if (res?.gasUsed !== undefined) add('Gas used', res.gasUsed.toString());
  const t = res?.timing;
  if (t)
    add(
      'Server time (not attested)',
      `total ${(Number(t.totalUs) / 1000).toFixed(2)} ms, execute ${(Number(t.executeUs) / 1000).toFixed(2)} ms, attest ${(Number(t.attestUs) / 1000).toFixed(2)} ms`,
    );
  add('Round trip', `${r.roundTripMs.toFixed(1)} ms`);
  add('Verification in this page', `${r.verifyMs.toFixed(1)} ms`);
  add('Nonce sent', r.nonceHex);
  if (r.sealed) {
    const s = r.sealed;
    add(
      'Sealed',
      `to key ${s.keyId} (${s.suite}), verified in this page first (${s.attestMs.toFixed(1)} ms); the host saw ${s.requestBytes} B of ciphertext out and ${s.responseBytes} B back`,
    );
    add('Sealed request digest', s.sealedRequestSha256);
  }
  $('run-result').hidden = false;
  renderVerdict(r.verdict, JSON.parse(r.json), 'run');
}

$('download').addEventListener('click', () => {
  if (!lastRun) return;
  const a = el('a');
  a.href = URL.createObjectURL(new Blob([`${lastRun.json}\n`], { type: 'application/json' }));
  a.download = `wasmvm-tee-response-${lastRun.response.requestId || 'result'}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
});

// ---------------------------------------------------------------- verify tab
async function fileText(id: string): Promise<string | undefined> {
  const f = $<HTMLInputElement>(id).files?.[0];
  return f ? await f.text() : undefined;
}

$<HTMLFormElement>('verify-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const err = $('verify-error');
  err.textContent = '';
  $('verify-result').hidden = true;
  const button = $<HTMLButtonElement>('verify-button');
  button.disabled = true;
  try {
    const text = await fileText('response-file');
    if (text === undefined) throw new Error('choose the response JSON file');
    const response = JSON.parse(text) as unknown;
    const request = await fileText('request-file');
    const policy = await fileText('policy-file');
    const nonce = $<HTMLInputElement>('nonce').value.trim();
    const v = await verifyResponse(response, {
      ...(nonce ? { nonce } : {}),
      ...($<HTMLInputElement>('no-nonce').checked ? { freshness: 'skip' as const } : {}),
      ...(request !== undefined ? { request } : {}),
      ...(policy !== undefined ? { policy } : {}),
      trustSimulatedRoot: pemList('verify-root'),
    });
    $('verify-result').hidden = false;
    renderVerdict(v, response, 'verify');
  } catch (x) {
    showError('verify-error', x);
  } finally {
    button.disabled = false;
  }
});

// ---------------------------------------------------------------- where the page runs
const note = $('env-note');
if (location.protocol === 'file:' || location.protocol === 'about:') {
  // no service behind a file: the run tab needs the page served by `wasmvm-tee serve`
  $<HTMLButtonElement>('run-button').disabled = true;
  note.textContent =
    'Opened from a file: "Run" needs the page served by wasmvm-tee serve; "Verify a saved response" works here.';
  note.hidden = false;
  selectTab(tabs[1]!);
} else if (!window.isSecureContext || !globalThis.crypto?.subtle) {
  note.textContent =
    'This page is not a secure context (http:// to a host other than localhost): the browser gives it no WebCrypto, so it cannot verify. Serve with --tls-cert/--tls-key, or use localhost.';
  note.hidden = false;
  $<HTMLButtonElement>('run-button').disabled = true;
  $<HTMLButtonElement>('verify-button').disabled = true;
}
document.documentElement.dataset.ready = 'true';
