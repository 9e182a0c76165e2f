// Engine benchmark: GFLOP/s of the conv kernels at Glow shapes and of the x·Aᵀ product of
// compressive sensing, stock vs patched wasm kernels, interleaved (timings here drift 30–50 %
// between runs, so variants alternate within each repeat and medians are reported).
//
//   node --import tsx bench/engine.ts [--quick]   prints a table, writes bench/results/engine.json
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tf, initEngine, installWasmPatches, removeWasmPatches, type EngineInfo } from '../src/engine/index.ts';
import { flippedFilterCache } from '../src/engine/kernels/conv_backprop_input.ts';
import { setBackpropFilterStrategy } from '../src/engine/kernels/conv_backprop_filter.ts';

export type Row = { name: string; unit: string; median: number; [k: string]: unknown };

interface ConvShape {
  label: string;
  hw: number;
  cin: number;
  cout: number;
  k: number;
}

/** Coupling-network convs of a 64×64 Glow with width 128, at levels 1 and 2 (after squeeze). */
const CONV_SHAPES: ConvShape[] = [
  { label: '32x32 12->128 3x3', hw: 32, cin: 12, cout: 128, k: 3 },
  { label: '32x32 128->128 1x1', hw: 32, cin: 128, cout: 128, k: 1 },
  { label: '32x32 128->24 3x3', hw: 32, cin: 128, cout: 24, k: 3 },
  { label: '16x16 24->128 3x3', hw: 16, cin: 24, cout: 128, k: 3 },
  { label: '16x16 128->128 1x1', hw: 16, cin: 128, cout: 128, k: 1 },
  { label: '16x16 128->48 3x3', hw: 16, cin: 128, cout: 48, k: 3 },
];
const QUICK_SHAPES = [CONV_SHAPES[0]!, CONV_SHAPES[2]!, CONV_SHAPES[4]!];
const BATCH = 6;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Wall time of one synchronous run, including reading one value back (forces async backends). */
function timeOnce(run: () => tf.Tensor): number {
  const t0 = performance.now();
  const y = run();
  y.dataSync();
  const ms = performance.now() - t0;
  y.dispose();
  return ms;
}

interface Variant {
  name: string;
  before?: () => unknown;
  run: () => tf.Tensor;
}

/** Runs every variant once per repeat (after one warm-up each), in alternating order. */
function interleave(variants: Variant[], repeats: number): Map<string, number[]> {
  const samples = new Map(variants.map((v) => [v.name, [] as number[]]));
  for (const v of variants) {
    v.before?.();
    timeOnce(v.run);
  }
  for (let r = 0; r < repeats; r++) {
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      v.before?.();
      samples.get(v.name)!.push(timeOnce(v.run));
    }
  }
  return samples;
}

function rowsFrom(op: string, shape: string, flop: number, samples: Map<string, number[]>, info: EngineInfo): Row[] {
  return [...samples].map(([variant, ms]) => {
    const med = median(ms);
    return {
      name: `${op} ${shape} [${variant}]`,
      unit: 'GFLOP/s',
      median: flop / (med * 1e6),
      op,
      shape,
      variant,
      medianMs: med,
      samplesMs: ms,
      backend: info.backend,
      threads: info.threads,
    };
  });
}

function convRows(s: ConvShape, repeats: number, info: EngineInfo): Row[] {
  const onWasm = info.backend === 'wasm';
  const x = tf.randomNormal([BATCH, s.hw, s.hw, s.cin], 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal([s.k, s.k, s.cin, s.cout], 0, 0.1, 'float32', 2) as tf.Tensor4D;
  const dy = tf.randomNormal([BATCH, s.hw, s.hw, s.cout], 0, 1, 'float32', 3) as tf.Tensor4D;
  const flop = 2 * BATCH * s.hw * s.hw * s.k * s.k * s.cin * s.cout;
  const backpropInput = () =>
    tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, {
      strides: [1, 1], pad: 'same', dataFormat: 'NHWC', inputShape: x.shape,
    } as never) as tf.Tensor;
  const backpropFilter = () =>
    tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
      strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: w.shape,
    } as never) as tf.Tensor;
  const rows: Row[] = [];
  try {
    rows.push(...rowsFrom('conv2d', s.label, flop, interleave([{ name: 'forward', run: () => tf.conv2d(x, w, 1, 'same') }], repeats), info));
    const bpi: Variant[] = [{ name: onWasm ? 'patched' : info.backend, before: () => onWasm && installWasmPatches(['Conv2DBackpropInput']), run: backpropInput }];
    if (onWasm) {
      bpi.push({ name: 'patched, cold cache', before: () => { installWasmPatches(['Conv2DBackpropInput']); flippedFilterCache.clear(); }, run: backpropInput });
      bpi.push({ name: 'stock', before: () => removeWasmPatches(['Conv2DBackpropInput']), run: backpropInput });
    }
    rows.push(...rowsFrom('backprop-input', s.label, flop, interleave(bpi, repeats), info));
    const bpf: Variant[] = onWasm
      ? [
          { name: 'patched (auto)', before: () => setBackpropFilterStrategy('auto'), run: backpropFilter },
          { name: 'im2col+matMul', before: () => setBackpropFilterStrategy('im2col'), run: backpropFilter },
          { name: 'transposed conv', before: () => setBackpropFilterStrategy('conv'), run: backpropFilter },
        ]
      : [{ name: info.backend, run: backpropFilter }];
    rows.push(...rowsFrom('backprop-filter', s.label, flop, interleave(bpf, repeats), info));
  } finally {
    if (onWasm) installWasmPatches();
    setBackpropFilterStrategy('auto');
    tf.dispose([x, w, dy]);
  }
  return rows;
}

/** y = x·Aᵀ for the Gaussian measurement operator (m = 2500, n = 64·64·3) at batch 6. */
function matMulRows(repeats: number, info: EngineInfo): Row[] {
  const m = 2500;
  const n = 12288;
  const x = tf.randomNormal([BATCH, n], 0, 1, 'float32', 4) as tf.Tensor2D;
  const A = tf.randomNormal([m, n], 0, 1 / Math.sqrt(m), 'float32', 5) as tf.Tensor2D;
  const At = tf.transpose(A) as tf.Tensor2D;
  const flop = 2 * BATCH * m * n;
  const onWasm = info.backend === 'wasm';
  const patched = () => onWasm && installWasmPatches(['BatchMatMul']);
  const variants: Variant[] = [
    { name: onWasm ? 'x·Aᵀ patched' : `x·Aᵀ ${info.backend}`, before: patched, run: () => tf.matMul(x, A, false, true) },
    { name: 'x·B, B=Aᵀ stored', before: patched, run: () => tf.matMul(x, At) },
  ];
  if (onWasm) {
    variants.push({ name: 'x·Aᵀ stock', before: () => removeWasmPatches(['BatchMatMul']), run: () => tf.matMul(x, A, false, true) });
  }
  try {
    return rowsFrom('matMul', `${BATCH}x${n} · (${m}x${n})ᵀ`, flop, interleave(variants, repeats), info);
  } finally {
    if (onWasm) installWasmPatches();
    tf.dispose([x, A, At]);
  }
}

export async function benchEngine(opts: { quick: boolean }): Promise<Row[]> {
  const info = await initEngine();
  const repeats = opts.quick ? 5 : 9;
  const rows: Row[] = [];
  for (const s of opts.quick ? QUICK_SHAPES : CONV_SHAPES) rows.push(...convRows(s, repeats, info));
  rows.push(...matMulRows(repeats, info));
  return rows;
}

function printTable(rows: Row[]): void {
  const w = Math.max(...rows.map((r) => r.name.length));
  console.log(`${'benchmark'.padEnd(w)}  ${'median'.padStart(8)}  unit      ms`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(w)}  ${r.median.toFixed(2).padStart(8)}  ${r.unit}  ${(r.medianMs as number).toFixed(1)}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const quick = process.argv.includes('--quick');
  const info = await initEngine();
  const rows = await benchEngine({ quick });
  printTable(rows);
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, 'engine.json');
  fs.writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), engine: info, quick, rows }, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}
