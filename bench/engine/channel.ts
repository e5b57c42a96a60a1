/**
 * Channel between the Engine and an executor process, measured in isolation (bench/engine section 4):
 * round trip of an execution-sized message to an echo child, over the IPC channel with 'advanced'
 * serialization (objects, the design before issue 20) vs length-prefixed binary frames on a Unix-domain
 * socketpair (an extra stdio pipe of fork()). Sequential and with 16 in flight (frames of one tick are
 * written together). Shared memory through a file-backed mmap needs a native module: none is installed.
 * Run alone: node --import tsx bench/engine/channel.ts [--quick]
 */
import { fork } from 'node:child_process';
import { Socket } from 'node:net';

const CHILD = process.argv[2] === '--channel-child';

if (CHILD) {
  process.on('message', (m) => process.send!(m));
  const sock = new Socket({ fd: 4, readable: true, writable: true });
  sock.on('data', (b) => sock.write(b)); // an echo: frames come back as they came
  process.on('disconnect', () => process.exit(0));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** A message of the size and shape of a cached execution (id, key, export, signature, two i32). */
const obj = () => ({
  type: 'exec',
  id: 1,
  key: 'a'.repeat(64),
  job: {
    fn: 'add',
    params: ['i32', 'i32'],
    results: ['i32'],
    args: [
      { type: 'i32', value: 1 },
      { type: 'i32', value: 2 },
    ],
    hostModules: [],
    hostOptions: {},
    maxOutputBytes: 1 << 20,
    timeoutMs: 10_000,
  },
});
const FRAME = 120;

export async function channelBench(quick: boolean) {
  const child = fork(new URL(import.meta.url), ['--channel-child'], {
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'inherit', 'ipc', 'pipe'],
  });
  const sock = child.stdio[4] as Socket;
  await new Promise((r) => setTimeout(r, 300));
  const N = quick ? 400 : 2000;
  const ipcOne = () =>
    new Promise<void>((r) => {
      child.once('message', () => r());
      child.send(obj());
    });
  let waiters: (() => void)[] = [];
  let buffered = 0;
  sock.on('data', (b: Buffer) => {
    buffered += b.length;
    while (buffered >= FRAME && waiters.length > 0) {
      buffered -= FRAME;
      waiters.shift()!();
    }
  });
  const frame = Buffer.alloc(FRAME);
  const sockOne = () =>
    new Promise<void>((r) => {
      waiters.push(r);
      // what the Engine writes: a length prefix and the binary job
      frame.writeUInt32LE(FRAME - 4, 0);
      sock.write(frame);
    });
  const seq = { ipc: [] as number[], socket: [] as number[] };
  for (let i = 0; i < 50; i++) {
    await ipcOne();
    await sockOne();
  }
  for (let r = 0; r < 8; r++) {
    for (let i = 0; i < N / 8; i++) {
      let t = performance.now();
      await ipcOne();
      seq.ipc.push(performance.now() - t);
      t = performance.now();
      await sockOne();
      seq.socket.push(performance.now() - t);
    }
  }
  // 16 in flight: per-message cost with batching (the IPC side sends one batch message, as before)
  const K = 16;
  const conc = { ipc: [] as number[], socket: [] as number[] };
  for (let r = 0; r < (quick ? 20 : 100); r++) {
    let t = performance.now();
    await new Promise<void>((res) => {
      child.once('message', () => res());
      child.send({ type: 'batch', messages: Array.from({ length: K }, obj) });
    });
    conc.ipc.push((performance.now() - t) / K);
    t = performance.now();
    const all: Promise<void>[] = [];
    const batch = Buffer.alloc(FRAME * K);
    for (let k = 0; k < K; k++) {
      all.push(new Promise<void>((res) => waiters.push(res)));
      batch.writeUInt32LE(FRAME - 4, k * FRAME);
    }
    sock.write(batch);
    await Promise.all(all);
    conc.socket.push((performance.now() - t) / K);
  }
  waiters = [];
  child.disconnect();
  const us = (ms: number) => Number((ms * 1000).toFixed(1));
  const out = {
    ipcSeqUs: us(median(seq.ipc)),
    socketSeqUs: us(median(seq.socket)),
    ipcBatchUs: us(median(conc.ipc)),
    socketBatchUs: us(median(conc.socket)),
  };
  console.log(`\n== executor channel alone: round trip of an execution-sized message to an echo process`);
  console.log(
    `  IPC, advanced serialization (before)   ${out.ipcSeqUs} µs sequential, ${out.ipcBatchUs} µs/msg with ${K} in flight`,
  );
  console.log(
    `  socketpair, binary frames (now)        ${out.socketSeqUs} µs sequential, ${out.socketBatchUs} µs/msg with ${K} in flight`,
  );
  return out;
}

if (!CHILD && import.meta.url === new URL(process.argv[1]!, 'file:').href) {
  await channelBench(process.argv.includes('--quick'));
}
