/**
 * The verifier and the playground in a real browser (Debian's chromium, driven by playwright-core; no
 * browser download). Skipped, saying why, when /usr/bin/chromium is absent.
 *  - the verifier's real test vectors (SEV-SNP reports with their VCEK/VLEK, TDX quotes with Intel
 *    collateral, NVIDIA Hopper evidence) verify in the page with the same verdict as in Node (ok, and
 *    every check's id and outcome, in order, parts included); tampered ones fail the same way;
 *  - the playground, served by a live server (simulated SEV-SNP), runs an example end to end and verifies
 *    it in the page; its downloaded JSON verifies in Node and in the one-file page opened from disk;
 *  - a screenshot of each screen goes to test-results/browser/.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createDefaultBackend } from '../src/server/default-backend.ts';
import { type RunningServer, startServer } from '../src/server/server.ts';
import { SimulatedSevSnpProvider } from '../src/tee/index.ts';
import { verifyExecution } from '../src/verify/index.ts';
import { verifyGpuEvidence } from '../src/verify/nvidia/index.ts';
import { verifySnpReport } from '../src/verify/sev-snp/index.ts';
import { verifyTdxQuote } from '../src/verify/tdx/index.ts';
import { hopperEvidence, NRAS_CLOCK } from '../test/verify/nvidia/helpers.ts';
import { expected, read, readText, timeFor } from '../test/verify/sev-snp/helpers.ts';
import { COLLATERAL_FOR, collateral, QUOTES, quoteBytes } from '../test/verify/tdx/helpers.ts';
import {
  buildPage,
  launch,
  noBrowser,
  openPlayground,
  ROOT,
  shape,
  verifyInPage,
} from './browser-helpers.ts';

const skip = noBrowser();
const SHOTS = join(ROOT, 'test-results', 'browser');

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

describe('the verifier and the playground in Chromium', { skip }, () => {
  let browser: Browser;
  let built: Awaited<ReturnType<typeof buildPage>>;
  let page: Page;
  before(async () => {
    built = await buildPage();
    browser = await launch();
    page = await openPlayground(browser, built.fileUrl);
  });
  after(async () => {
    await browser?.close();
    if (built) rmSync(built.dir, { recursive: true, force: true });
  });

  it('SEV-SNP: every real report verifies in the page with the same verdict as in Node; tampered ones fail alike', async () => {
    for (const e of expected.reports) {
      const report = read(e.report);
      const vek = e.vek.endsWith('.pem') ? readText(e.vek) : read(e.vek);
      const opts = {
        vek,
        now: timeFor(e.report),
        policy: { vmpl: e.vmpl as number, ...(e.debugAllowed ? { allowDebug: true } : {}) },
        expectedReportData: report.subarray(0x50, 0x90),
      };
      const fixDate = 'args[1].now = new Date(args[1].now);';
      const node = await verifySnpReport(report, opts);
      assert.equal(node.ok, true, e.report);
      const web = await verifyInPage(page, 'verifySnpReport', [report, opts], fixDate);
      assert.deepEqual(shape(web), shape(node), e.report);
      // one bit of the measurement flipped: the signature check fails, in both
      const bad = report.slice();
      bad[0x90] = bad[0x90]! ^ 1;
      const nodeBad = await verifySnpReport(bad, { ...opts, expectedReportData: bad.subarray(0x50, 0x90) });
      assert.equal(nodeBad.ok, false);
      const webBad = await verifyInPage(
        page,
        'verifySnpReport',
        [bad, { ...opts, expectedReportData: bad.subarray(0x50, 0x90) }],
        fixDate,
      );
      assert.deepEqual(shape(webBad), shape(nodeBad), `${e.report} tampered`);
      assert.ok(shape(webBad).checks.some(([id, o]) => id === 'snp.report.signature' && o === 'fail'));
    }
  });

  it('TDX: quotes with Intel collateral verify in the page with the same verdict as in Node; tampered ones fail alike', async () => {
    for (const name of QUOTES) {
      const { collateral: cols, at } = COLLATERAL_FOR[name]!;
      const quote = quoteBytes(name);
      const opts = { now: new Date(at), collateral: collateral(...cols), policy: { allowDebug: true } };
      const fixDate = 'args[1].now = new Date(args[1].now);';
      const node = await verifyTdxQuote(quote, opts);
      const web = await verifyInPage(page, 'verifyTdxQuote', [quote, opts], fixDate);
      assert.deepEqual(shape(web), shape(node), name);
      assert.ok(
        shape(node).checks.some(([id, o]) => id === 'tdx.quote.signature' && o === 'pass'),
        name,
      );
      const bad = quote.slice();
      bad[48 + 136] = bad[48 + 136]! ^ 1; // a byte of MRTD in the TD report body
      const nodeBad = await verifyTdxQuote(bad, opts);
      assert.equal(nodeBad.ok, false, `${name} tampered`);
      assert.deepEqual(
        shape(await verifyInPage(page, 'verifyTdxQuote', [bad, opts], fixDate)),
        shape(nodeBad),
      );
    }
  });

  it('NVIDIA: Hopper evidence verifies in the page with the same verdict as in Node; tampered evidence fails alike', async () => {
    const ev = hopperEvidence();
    const node = await verifyGpuEvidence(ev, { now: NRAS_CLOCK });
    const fixDate = 'args[1].now = new Date(args[1].now);';
    const web = await verifyInPage(page, 'verifyGpuEvidence', [ev, { now: NRAS_CLOCK }], fixDate);
    assert.deepEqual(shape(web), shape(node));
    const raw = Buffer.from(ev.evidence, 'base64');
    raw[raw.length - 10] = raw[raw.length - 10]! ^ 1; // inside the signature
    const bad = { ...ev, evidence: raw.toString('base64') };
    const nodeBad = await verifyGpuEvidence(bad, { now: NRAS_CLOCK });
    assert.equal(nodeBad.ok, false);
    assert.deepEqual(
      shape(await verifyInPage(page, 'verifyGpuEvidence', [bad, { now: NRAS_CLOCK }], fixDate)),
      shape(nodeBad),
    );
  });

  describe('the playground against a live server (simulated SEV-SNP)', () => {
    let server: RunningServer;
    let rootPem: string;
    let state: string;
    before(async () => {
      state = mkdtempSync(join(tmpdir(), 'wasmvm-browser-sim-'));
      const backend = await createDefaultBackend({ teeProvider: 'simulated', stateDir: state, noGpu: true });
      server = await startServer({
        backend,
        port: 0,
        host: '127.0.0.1',
        logLevel: 'silent',
        playground: join(built.dir, 'playground'),
      });
      rootPem = await new SimulatedSevSnpProvider({ stateDir: state, warn: false }).rootPem();
    });
    after(async () => {
      await server?.close();
      rmSync(state, { recursive: true, force: true });
    });

    it('runs an example, verifies in the page, and saves JSON that verifies in Node and from disk', async () => {
      const p = await openPlayground(browser, `${server.url}/`);
      assert.equal(await p.locator('#exports input[type=radio]:checked').getAttribute('value'), 'fib');
      assert.match(await p.locator('#exports').innerText(), /fib\(i32\) -> i64/);
      await p.getByLabel('Input 1 (i32)').fill('30');
      await p.getByLabel('Gas limit').fill('1000000');
      await p
        .getByLabel(/Simulated TEE root to trust/)
        .first()
        .fill(rootPem);
      await shot(p, '1-run-form');
      await p.getByRole('button', { name: 'Run and verify' }).click();
      await p
        .locator('#run-verdict:not(:empty), #run-error:not(:empty)')
        .first()
        .waitFor({ timeout: 60_000 });
      assert.equal(await p.locator('#run-error').textContent(), '');
      assert.equal(await p.locator('#run-verdict').textContent(), 'VERIFIED');
      assert.match(await p.locator('#run-summary').innerText(), /i64:832040/);
      assert.match(await p.locator('#run-summary').innerText(), /Gas used\s+\d+/);
      assert.match(
        await p.locator('#run-evidence').innerText(),
        /AMD SEV-SNP[\s\S]*Measurement[\s\S]*Chip id/,
      );
      const rows = (await p.evaluate(
        `Array.from(document.querySelectorAll('#run-checks tr')).map((tr) => [tr.dataset.check, tr.dataset.outcome])`,
      )) as [string, string][];
      assert.ok(rows.length > 10 && rows.every(([, o]) => o !== 'fail'), JSON.stringify(rows));
      await shot(p, '2-run-result');

      // the download: exactly the `exec --server … --json` shape, and it verifies in Node
      const [download] = await Promise.all([
        p.waitForEvent('download'),
        p.getByRole('button', { name: 'Download the response JSON' }).click(),
      ]);
      const file = join(built.dir, 'response.json');
      await download.saveAs(file);
      const saved = JSON.parse(readFileSync(file, 'utf8'));
      for (const k of [
        'requestId',
        'status',
        'outputs',
        'inputs',
        'gasUsed',
        'bytecodeSha256',
        'mode',
        'nonce',
        'reportData',
        'attestationMode',
        'attestation',
        'simulated',
        'verified',
        'verdict',
      ])
        assert.ok(k in saved, k);
      assert.equal(saved.verified, true);
      const node = await verifyExecution(undefined, {
        response: saved,
        nonce: saved.nonce,
        trustSimulatedRoot: rootPem,
      });
      assert.equal(node.ok, true, JSON.stringify(node.checks.filter((c) => c.outcome === 'fail')));
      // The page verified the proto response with the request it built: binding.request, and the proto-only
      // fields (claim bytes, claim signature, structured evidence) the saved JSON does not carry. Node here
      // has the saved JSON only; every other check is the same, in the same order.
      const pageOnly = ['binding.request', 'response.claim', 'response.claim-signature', 'response.evidence'];
      const inPage = shape(saved.verdict.parts[0]);
      for (const id of pageOnly)
        assert.ok(
          inPage.checks.some(([i, o]) => i === id && o === 'pass'),
          `${id} passed in the page`,
        );
      assert.deepEqual(
        { ...inPage, checks: inPage.checks.filter(([id]) => !pageOnly.includes(id)) },
        shape(node),
      );
      // window.wasmvmTee.verifyResponse: the same verdict; without the root (pinned roots only) it fails
      const call = (opts: string) =>
        p.evaluate(
          `window.wasmvmTee.verifyResponse(${JSON.stringify(saved)}, ${opts}).then((v) => JSON.parse(JSON.stringify(v)))`,
        );
      assert.deepEqual(
        shape(
          await call(
            `{ nonce: ${JSON.stringify(saved.nonce)}, trustSimulatedRoot: ${JSON.stringify(rootPem)} }`,
          ),
        ),
        shape(node),
      );
      const untrusted = await call(`{ nonce: ${JSON.stringify(saved.nonce)} }`);
      const nodeUntrusted = await verifyExecution(undefined, { response: saved, nonce: saved.nonce });
      assert.equal(nodeUntrusted.ok, false);
      assert.deepEqual(shape(untrusted), shape(nodeUntrusted));
      await p.close();

      // the one-file page from disk: "verify a saved response", no server
      const f = await openPlayground(browser, built.fileUrl);
      assert.equal(
        await f.getByRole('tab', { name: 'Verify a saved response' }).getAttribute('aria-selected'),
        'true',
      );
      assert.equal(await f.locator('#run-button').isDisabled(), true);
      await f.getByLabel('Response JSON').setInputFiles(file);
      await f.getByLabel('Nonce you sent (hex)').fill(saved.nonce);
      await f.locator('#verify-root').fill(rootPem);
      await f.getByRole('button', { name: 'Verify' }).click();
      await f.locator('#verify-verdict:not(:empty), #verify-error:not(:empty)').first().waitFor();
      assert.equal(await f.locator('#verify-error').textContent(), '');
      assert.equal(await f.locator('#verify-verdict').textContent(), 'VERIFIED');
      await shot(f, '3-verify-saved-from-disk');
      // an output changed in the saved file: rejected
      const tampered = structuredClone(saved);
      tampered.outputs[0].value = '832041';
      const tfile = join(built.dir, 'tampered.json');
      writeFileSync(tfile, JSON.stringify(tampered));
      await f.getByLabel('Response JSON').setInputFiles(tfile);
      await f.getByRole('button', { name: 'Verify' }).click();
      await f.locator('#verify-verdict', { hasText: 'FAILED' }).waitFor();
      const nodeTampered = await verifyExecution(undefined, {
        response: tampered,
        nonce: saved.nonce,
        trustSimulatedRoot: rootPem,
      });
      assert.equal(nodeTampered.ok, false);
      await shot(f, '4-verify-tampered');
      await f.close();
    });

    it('sealed mode: the key is verified in the page before anything is sent; only ciphertext crosses', async () => {
      const p = await openPlayground(browser, `${server.url}/`);
      const sent: { url: string; body: string }[] = [];
      p.on('request', (r) => {
        if (/WASMVMTeeService\/Execute/.test(r.url())) sent.push({ url: r.url(), body: r.postData() ?? '' });
      });
      await p.getByLabel('Input 1 (i32)').fill('30');
      await p.getByLabel(/^Sealed/).check();
      // no simulated root pasted: the attested key does not verify, so nothing is sealed or sent
      await p.getByRole('button', { name: 'Run and verify' }).click();
      await p.locator('#run-error:not(:empty)').waitFor({ timeout: 60_000 });
      assert.match((await p.locator('#run-error').textContent()) ?? '', /refusing to seal/);
      assert.equal(sent.length, 0, 'nothing sent before the key verified');
      // with the simulated root trusted: sealed, run, opened and verified in the page
      await p
        .getByLabel(/Simulated TEE root to trust/)
        .first()
        .fill(rootPem);
      const answer = p.waitForResponse(/WASMVMTeeService\/ExecuteSealed$/, { timeout: 60_000 });
      await p.getByRole('button', { name: 'Run and verify' }).click();
      await p.locator('#run-verdict:not(:empty)').waitFor({ timeout: 60_000 });
      assert.equal(await p.locator('#run-error').textContent(), '');
      assert.equal(await p.locator('#run-verdict').textContent(), 'VERIFIED');
      const summary = await p.locator('#run-summary').innerText();
      assert.match(summary, /i64:832040/);
      assert.match(summary, /Sealed\s+to key \S+ \(/);
      const rows = (await p.evaluate(
        `Array.from(document.querySelectorAll('#run-checks tr')).map((tr) => [tr.dataset.check, tr.dataset.outcome])`,
      )) as [string, string][];
      for (const id of ['sealed.request', 'sealed.key-validity', 'sealed.session', 'binding.request'])
        assert.ok(
          rows.some(([c, o]) => c === id && o === 'pass'),
          `${id}: ${JSON.stringify(rows)}`,
        );
      assert.ok(
        rows.every(([, o]) => o !== 'fail'),
        JSON.stringify(rows),
      );
      await shot(p, '5-run-sealed');
      // what crossed the host: one ExecuteSealed each way, no plain Execute, no function name, no output
      assert.equal(sent.length, 1, JSON.stringify(sent.map((x) => x.url)));
      assert.match(sent[0]!.url, /ExecuteSealed$/);
      const req = JSON.parse(sent[0]!.body) as Record<string, unknown>;
      assert.deepEqual(Object.keys(req).sort(), ['ciphertext', 'enc', 'keyId', 'suite']);
      assert.doesNotMatch(sent[0]!.body, /fnName|fib|typedInputs/);
      const back = await (await answer).text();
      assert.match(back, /"ciphertext"/);
      assert.doesNotMatch(back, /832040|outputValues|"status"/);
      await p.close();
    });
  });
});

if (skip) process.stdout.write(`# skipped: ${skip}\n`);
