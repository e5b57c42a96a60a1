// Example (AssemblyScript): attest the VM and GPU 0, verify the tokens, and only then train a tiny
// model (linear regression by gradient descent on fixed data) and print it.
//
//   wasmvm-tee run --allow-simulated build/attest_train_as.wasm [-- --require-gpu]
//
// Without a GPU, attestGpu fails: reported, and the example continues CPU-only unless --require-gpu.
// Exit codes: 0 ok, 1 VM attestation failed, 2 token invalid, 3 GPU required but not attested.
import { attestGpu, attestVm, detectTeeCode, verifyToken } from './attestation';
import { args, eprintln, exit, fixed4, println } from './wasi';

export function _start(): void {
  const argv = args();
  const requireGpu = argv.includes('--require-gpu');

  println('TEE code: 0x' + detectTeeCode().toString(16));

  const vm = attestVm();
  if (!vm.success) {
    eprintln('VM attestation failed: ' + vm.error);
    exit(1);
    return;
  }
  if (!verifyToken(vm.token)) {
    eprintln('VM attestation token did not verify');
    exit(2);
    return;
  }
  println(
    'VM attested: ' +
      vm.teeType +
      (vm.simulated ? ' [SIMULATED]' : '') +
      ', token verified (' +
      vm.token.length.toString() +
      ' bytes)',
  );

  const gpu = attestGpu(0);
  if (gpu.success) {
    if (!verifyToken(gpu.token)) {
      eprintln('GPU attestation token did not verify');
      exit(2);
      return;
    }
    println('GPU 0 attested, token verified');
  } else if (requireGpu) {
    eprintln('GPU attestation required but failed: ' + gpu.error);
    exit(3);
    return;
  } else {
    println('GPU attestation unavailable (' + gpu.error + '): continuing CPU-only');
  }

  const xs: f64[] = [0, 1, 2, 3, 4, 5, 6, 7];
  const ys: f64[] = [1.1, 2.9, 5.2, 6.8, 9.1, 11.0, 12.9, 15.2];
  const n = <f64>xs.length;
  let w = 0.0;
  let b = 0.0;
  const lr = 0.02;
  for (let epoch = 0; epoch < 2000; epoch++) {
    let gw = 0.0;
    let gb = 0.0;
    for (let i = 0; i < xs.length; i++) {
      const e = w * xs[i] + b - ys[i];
      gw += e * xs[i];
      gb += e;
    }
    w -= (lr * gw) / n;
    b -= (lr * gb) / n;
  }
  let mse = 0.0;
  for (let i = 0; i < xs.length; i++) {
    const e = w * xs[i] + b - ys[i];
    mse += (e * e) / n;
  }
  println('model: y = ' + fixed4(w) + ' * x + ' + fixed4(b) + ' (mse ' + fixed4(mse) + ')');
}
