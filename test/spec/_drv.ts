import { readdirSync } from 'node:fs';
import { runScript, plainVariant } from './runner.ts';
const dir = '/work/main/test/data/wasm-spec';
let P=0,F=0,S=0;
const t0=performance.now();
for (const f of readdirSync(dir).filter(f=>f.endsWith('.wast')).filter(f=>!process.argv[2]||f.includes(process.argv[2]))) {
  const t=performance.now();
  try {
  const r = await runScript(`${dir}/${f}`, plainVariant);
  P+=r.pass;F+=r.fail;S+=r.skip;
  console.log(f, r.pass, r.fail, r.skip, Math.round(performance.now()-t));
  for (const x of r.results.filter(x=>x.outcome!=='pass').slice(0,3)) console.log('   ', x.line, x.command, x.outcome, x.detail?.slice(0,200));
  } catch (e) { console.log(f, 'CRASH', String(e).slice(0,300)); }
}
console.log('TOTAL', P,F,S, Math.round(performance.now()-t0));
