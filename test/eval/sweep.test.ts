// End to end: a tiny sweep (tiny random Glow, 2 generated images, 2 settings, glow + lasso-dct) writes every
// output, is byte-reproducible from its seed, and resumes without solving finished cells again.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { initEngine, tf } from '../../src/engine/index.ts';
import { parseCsvRecords } from '../../src/eval/csv.ts';
import {
  evalDefaults,
  RESULT_COLUMNS,
  runEval,
  SUMMARY_COLUMNS,
  TIMING_COLUMNS,
  type EvalConfig,
  type SolveFn,
} from '../../src/eval/index.ts';
import { evalConfigFromArgs } from '../../src/cli/commands/eval.ts';
import { solveWithMethod } from '../../src/methods/index.ts';
import { createRandomGlow, glowConfig } from '../../src/models/glow/random_glow.ts';
import { loadModel, savePrior } from '../../src/models/store.ts';
import type { Glow } from '../../src/models/glow/glow.ts';
import type { Problem } from '../../src/solvers/types.ts';

const run = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SIZE = 16;
let root: string;
let modelDir: string;
let imagesDir: string;

/** A smooth colour image: gradients and a disc, different per index. */
async function writeTestImage(file: string, k: number): Promise<void> {
  const data = Buffer.alloc(SIZE * SIZE * 3);
  for (let r = 0; r < SIZE; r++) {
    for (let c = 0; c < SIZE; c++) {
      const inDisc = (r - 8 - k) ** 2 + (c - 7) ** 2 < 20;
      const i = (r * SIZE + c) * 3;
      data[i] = Math.round(255 * (0.2 + 0.6 * (c / SIZE)));
      data[i + 1] = inDisc ? 200 - 40 * k : Math.round(255 * (0.3 + 0.4 * (r / SIZE)));
      data[i + 2] = Math.round(255 * (0.5 + 0.3 * Math.sin((r + c + 3 * k) / 4)));
    }
  }
  await writeFile(file, await sharp(data, { raw: { width: SIZE, height: SIZE, channels: 3 } }).png().toBuffer());
}

/** Wraps the real solver, counting the images each method is asked to solve and keeping the calls. */
function countingSolve() {
  const counts: Record<string, number> = {};
  const calls: { method: string; problems: Problem[]; images: Float32Array[] }[] = [];
  const solve: SolveFn = async (method, prior, problems, options) => {
    counts[method] = (counts[method] ?? 0) + problems.length;
    const results = await solveWithMethod(method, prior, problems, options);
    calls.push({ method, problems, images: results.map((r) => r.image) });
    return results;
  };
  return { solve, counts, calls };
}

function config(out: string, over: Partial<EvalConfig> = {}): EvalConfig {
  return {
    ...evalDefaults('cs'),
    images: [imagesDir],
    out,
    priors: ['glow', 'lasso-dct'],
    m: [60, 150],
    evaluations: 6,
    baselineEvaluations: 40,
    glowModel: modelDir,
    seed: 7,
    gridImages: 2,
    ...over,
  };
}

async function csv(file: string) {
  return parseCsvRecords(await readFile(file, 'utf8'));
}

async function assertPng(file: string): Promise<void> {
  const meta = await sharp(await readFile(file)).metadata();
  assert.equal(meta.format, 'png', file);
  assert.ok((meta.width ?? 0) > 0 && (meta.height ?? 0) > 0, file);
}

before(async () => {
  await initEngine();
  root = await mkdtemp(path.join(tmpdir(), 'flowprior-eval-'));
  modelDir = path.join(root, 'model');
  imagesDir = path.join(root, 'faces');
  const glow = createRandomGlow(glowConfig({ K: 1, L: 2, hidden: 8, size: SIZE }), 5);
  await savePrior(modelDir, glow);
  glow.dispose();
  await mkdir(imagesDir);
  await writeTestImage(path.join(imagesDir, 'b.png'), 1);
  await writeTestImage(path.join(imagesDir, 'a.png'), 0);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('flowprior eval: a tiny sweep end to end', () => {
  let outA: string;
  let first: ReturnType<typeof countingSolve>;

  it('writes results, timings, summary, plots, grids and a report that parse', async () => {
    outA = path.join(root, 'run-a');
    first = countingSolve();
    const outcome = await runEval(config(outA), { solve: first.solve, stderr: null });
    assert.equal(outcome.solved, 8); // 2 settings × 2 priors × 2 images
    assert.equal(outcome.skipped, 0);
    assert.deepEqual(first.counts, { glow: 4, 'lasso-dct': 4 });

    const results = await csv(path.join(outA, 'results.csv'));
    assert.deepEqual(results.header, [...RESULT_COLUMNS]);
    assert.equal(results.records.length, 8);
    for (const r of results.records) {
      assert.equal(r.problem, 'cs');
      assert.equal(r.dataset, 'faces');
      assert.ok(['a.png', 'b.png'].includes(r.image!));
      assert.ok(Number.isFinite(Number(r.psnr)) && Number(r.psnr) > 0, `psnr ${r.psnr}`);
      assert.ok(Number(r.ssim) <= 1);
      assert.ok(Number(r.evaluations) >= 1);
      if (r.prior === 'glow') {
        assert.ok(Number(r.evaluations) <= 6);
        assert.equal(r.gamma, '0');
        assert.equal(r.init, 'zeros');
        assert.ok(Number(r.zNorm) >= 0);
      } else {
        assert.equal(r.gamma, ''); // not applicable to a baseline
        assert.equal(r.zNorm, '');
      }
    }
    // Natural order of file names, whatever order they were written in.
    assert.deepEqual(results.records.slice(0, 2).map((r) => r.image), ['a.png', 'b.png']);

    const timings = await csv(path.join(outA, 'timings.csv'));
    assert.deepEqual(timings.header, [...TIMING_COLUMNS]);
    assert.equal(timings.records.length, 8);
    assert.ok(timings.records.every((t) => Number(t.batchWallMs) > 0 && t.batchSize === '2'));

    const summary = await csv(path.join(outA, 'summary.csv'));
    assert.deepEqual(summary.header, [...SUMMARY_COLUMNS]);
    assert.equal(summary.records.length, 4);
    for (const s of summary.records) {
      assert.equal(s.n, '2');
      const mine = results.records.filter((r) => r.prior === s.prior && r.m === s.m).map((r) => Number(r.psnr));
      assert.ok(Math.abs(Number(s.psnrMean) - (mine[0]! + mine[1]!) / 2) < 1e-3);
      // t-interval with one degree of freedom: 12.706 · sd / √2 = 12.706 · |a − b| / 2.
      assert.ok(Math.abs(Number(s.psnrCi95) - (12.706 * Math.abs(mine[0]! - mine[1]!)) / 2) < 2e-3);
      assert.equal(s.paperPsnr, ''); // 16×16 images: the paper's m values do not apply
    }

    const run = JSON.parse(await readFile(path.join(outA, 'run.json'), 'utf8'));
    assert.equal(run.seed, 7);
    assert.match(run.models.glow.sha256, /^[0-9a-f]{64}$/);

    const report = await readFile(path.join(outA, 'report.md'), 'utf8');
    for (const prior of ['glow', 'lasso-dct']) assert.ok(report.includes(prior), `report mentions ${prior}`);
    const linked = [...report.matchAll(/\]\(([^)]+\.png)\)/g)].map((m) => m[1]!);
    assert.ok(linked.some((f) => f.startsWith('plots/')) && linked.some((f) => f.startsWith('grids/')), 'report embeds plots and grids');
    for (const f of outcome.files.filter((x) => x.endsWith('.png'))) assert.ok(linked.includes(f), `report links ${f}`);
    for (const f of linked) await assertPng(path.join(outA, f));
    assert.ok(outcome.files.includes(path.join('plots', 'cs_psnr-vs-m_faces.png')));
    assert.equal(outcome.files.filter((f) => f.startsWith('grids')).length, 2); // one per m
  });

  it('gives every prior the same measurements for the same image and setting', () => {
    const y = new Map<string, Float32Array>();
    for (const call of first.calls) {
      for (const p of call.problems) {
        const key = `${p.operator.type === 'gaussian' ? p.operator.m : ''}|${p.id}`;
        const seen = y.get(key);
        if (seen) assert.deepEqual(p.measurements, seen, key);
        else y.set(key, p.measurements);
      }
    }
    assert.equal(y.size, 4);
  });

  it('writes a byte-identical results.csv for the same seed, and a different one for another seed', async () => {
    const outB = path.join(root, 'run-b');
    await runEval(config(outB), { stderr: null });
    const a = await readFile(path.join(outA, 'results.csv'));
    assert.ok(a.equals(await readFile(path.join(outB, 'results.csv'))));
    const outC = path.join(root, 'run-c');
    await runEval(config(outC, { seed: 8, priors: ['lasso-dct'] }), { stderr: null });
    const other = (await csv(path.join(outC, 'results.csv'))).records;
    const same = (await csv(path.join(outA, 'results.csv'))).records.filter((r) => r.prior === 'lasso-dct');
    assert.notDeepEqual(other.map((r) => r.psnr), same.map((r) => r.psnr));
  });

  it('resumes: a rerun solves nothing, a larger sweep solves only the new cells', async () => {
    const before = await readFile(path.join(outA, 'results.csv'));
    const again = countingSolve();
    const outcome = await runEval(config(outA), { solve: again.solve, stderr: null });
    assert.equal(outcome.solved, 0);
    assert.equal(outcome.skipped, 8);
    assert.deepEqual(again.counts, {});
    assert.ok(before.equals(await readFile(path.join(outA, 'results.csv'))));
    assert.equal((await csv(path.join(outA, 'timings.csv'))).records.length, 8);

    // An interrupted run: only the first image was done. Resuming with both solves only the second.
    const outD = path.join(root, 'run-d');
    await runEval(config(outD, { limit: 1 }), { stderr: null });
    const resumed = countingSolve();
    const r2 = await runEval(config(outD), { solve: resumed.solve, stderr: null });
    assert.equal(r2.skipped, 4);
    assert.deepEqual(resumed.counts, { glow: 2, 'lasso-dct': 2 });
    assert.ok(resumed.calls.every((c) => c.problems.every((p) => p.id === 'faces/b.png')));
    const rows = (await csv(path.join(outD, 'results.csv'))).records;
    assert.equal(rows.length, 8);
    assert.equal(new Set(rows.map((r) => JSON.stringify([r.prior, r.m, r.image]))).size, 8);
    // The resumed cells equal those of the uninterrupted run.
    const full = (await csv(path.join(outA, 'results.csv'))).records;
    const key = (r: Record<string, string>) => JSON.stringify([r.prior, r.m, r.image]);
    const byKey = new Map(full.map((r) => [key(r), r]));
    for (const r of rows) assert.deepEqual(r, byKey.get(key(r)));

    // A run killed while appending leaves a cut line: it is dropped and that cell solved again.
    const complete = await readFile(path.join(outD, 'results.csv'));
    await writeFile(path.join(outD, 'results.csv'), complete.subarray(0, complete.length - 12));
    const repaired = countingSolve();
    await runEval(config(outD), { solve: repaired.solve, stderr: null });
    assert.deepEqual(repaired.counts, { 'lasso-dct': 1 });
    assert.ok(complete.equals(await readFile(path.join(outD, 'results.csv'))));

    // Another seed into the same folder is refused rather than mixed in.
    await assert.rejects(runEval(config(outD, { seed: 9 }), { stderr: null }), /seed/);

    // Published without recon/ (as docs/results is): a rebuild keeps the grids instead of drawing empty tiles.
    const gridFiles = (await readdir(path.join(outD, 'grids'))).sort();
    const gridsBefore = await Promise.all(gridFiles.map((f) => readFile(path.join(outD, 'grids', f))));
    await rm(path.join(outD, 'recon'), { recursive: true });
    await runEval(config(outD), { solve: countingSolve().solve, stderr: null });
    const gridsAfter = await Promise.all(gridFiles.map((f) => readFile(path.join(outD, 'grids', f))));
    gridsBefore.forEach((b, i) => assert.ok(b.equals(gridsAfter[i]!), `${gridFiles[i]} kept`));
  });

  it('runs the ablation starts: lasso (encoded Lasso-DCT solution) and fixed-direction norms', async () => {
    const out = path.join(root, 'run-init');
    const calls = countingSolve();
    await runEval(
      config(out, { priors: ['glow'], m: [100], limit: 1, init: [{ type: 'lasso' }, { type: 'norm', norm: 5 }, { type: 'norm', norm: 0 }] }),
      { solve: calls.solve, stderr: null },
    );
    const rows = (await csv(path.join(out, 'results.csv'))).records;
    assert.deepEqual(rows.map((r) => r.init), ['lasso', 'norm:5', 'norm:0']);
    const lasso = calls.calls.find((c) => c.method === 'lasso-dct')!;
    const [fromLasso, norm5, norm0] = calls.calls.filter((c) => c.method === 'glow').map((c) => c.problems[0]!);
    assert.equal(fromLasso!.init.type, 'given');
    // The Glow is invertible: decoding the start gives back the Lasso-DCT reconstruction.
    const glow = (await loadModel(modelDir)) as Glow;
    const z = (fromLasso!.init as { z: Float32Array }).z;
    const x = tf.tidy(() => glow.generate(tf.tensor2d(z, [1, glow.latentDim])).dataSync());
    const target = lasso.images[0]!;
    let err = 0;
    for (let i = 0; i < target.length; i++) err = Math.max(err, Math.abs(x[i]! - target[i]!));
    assert.ok(err < 1e-3, `G(z0) − lasso image: ${err}`);
    glow.dispose();
    const norm = (v: Float32Array) => Math.hypot(...v);
    assert.ok(Math.abs(norm((norm5!.init as { z: Float32Array }).z) - 5) < 1e-3);
    assert.equal(norm((norm0!.init as { z: Float32Array }).z), 0);
    assert.ok((await readFile(path.join(out, 'report.md'), 'utf8')).includes('## Ablations'));
  });

  it('parses the command line into the same sweep and runs it as `flowprior eval`', async () => {
    const out = path.join(root, 'run-cli');
    const argv = ['cs', '--images', imagesDir, '--out', out, '--priors', 'glow,lasso-dct', '--m', '60,150', '--evaluations', '6',
      '--baseline-evaluations', '40', '--glow-model', modelDir, '--seed', '7', '--grid-images', '2', '--quiet'];
    const cfg = evalConfigFromArgs(argv);
    assert.notEqual(cfg, 'help');
    assert.deepEqual(cfg, { ...config(out), noiseNorm: undefined, box: undefined, factor: undefined, blurSigma: undefined,
      limit: undefined, restarts: undefined, learningRate: undefined, lambda: undefined, dcganModel: undefined, sigma: undefined });
    // The real command, in its own process (its table goes to that process's stdout).
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/main.ts'), 'eval', ...argv], { cwd: REPO });
    assert.match(stdout, /8 cells solved, 0 already done/);
    assert.ok((await readFile(path.join(outA, 'results.csv'))).equals(await readFile(path.join(out, 'results.csv'))));
    assert.throws(() => evalConfigFromArgs(['cs', '--images', imagesDir, '--out', out, '--priors', 'glow,nope']), /nope/);
    assert.throws(() => evalConfigFromArgs(['xray', '--images', imagesDir, '--out', out]), /problem/);
  });
});
