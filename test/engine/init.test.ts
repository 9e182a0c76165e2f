// initEngine in fresh processes: backend selection from the environment, fallbacks with reasons,
// one summary line, and a process that exits by itself once its work is done.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { EngineInfo } from '../../src/engine/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = path.join('test', 'engine', 'fixtures', 'init_and_return.ts');
/** Generous: a hang is what this catches, not slowness. */
const HANG_MS = 120_000;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runFixture(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), HANG_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function parse(run: Run): { info: EngineInfo; finite: boolean } {
  assert.equal(run.signal, null, `killed (${run.signal}): the process did not exit by itself\n${run.stderr}`);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { info: EngineInfo; finite: boolean };
}

describe('initEngine in a fresh process', { concurrency: true }, () => {
  it('falls back from an unavailable tensorflow to 2-thread SIMD wasm, says why, and exits by itself', async () => {
    const run = await runFixture({ FLOWPRIOR_BACKEND: 'tensorflow', FLOWPRIOR_THREADS: '2' });
    const { info, finite } = parse(run);
    assert.ok(finite);
    assert.equal(info.requested, 'tensorflow');
    const summaries = run.stderr.split('\n').filter((l) => l.startsWith('flowprior engine: '));
    assert.deepEqual(summaries, [info.summary], 'exactly one summary line, on stderr');
    if (info.backend === 'tensorflow') return; // tfjs-node is installed with its native library here
    assert.equal(info.backend, 'wasm');
    assert.match(info.fallbacks[0] ?? '', /^tensorflow: /);
    assert.equal(info.threads, 2);
    assert.equal(info.simd, true);
    assert.match(info.summary, /backend=wasm threads=2 simd=true/);
    assert.ok(info.patches.includes('Conv2DBackpropFilter'));
  });

  it('falls back to single-thread SIMD wasm, and says so, when the threaded module does not start', async () => {
    // A 1 ms start-up budget is a real failure mode (a worker that never loads), forced.
    const run = await runFixture({ FLOWPRIOR_BACKEND: 'wasm', FLOWPRIOR_THREADS: '2', FLOWPRIOR_WASM_INIT_TIMEOUT_MS: '1' });
    const { info, finite } = parse(run);
    assert.ok(finite, 'the patched kernels work on the stock module too');
    assert.equal(info.backend, 'wasm');
    assert.equal(info.threads, 1);
    assert.equal(info.simd, true);
    assert.deepEqual(info.fallbacks, ['wasm threads unavailable (threaded wasm init timed out after 1 ms), using single-thread SIMD wasm']);
    assert.ok(info.patches.includes('Conv2DBackpropFilter'));
  });

  it('honours FLOWPRIOR_BACKEND=cpu without the tfjs-node advertisement', async () => {
    const run = await runFixture({ FLOWPRIOR_BACKEND: 'cpu' });
    const { info, finite } = parse(run);
    assert.ok(finite);
    assert.equal(info.backend, 'cpu');
    assert.deepEqual(info.fallbacks, []);
    assert.deepEqual(info.patches, []);
    assert.doesNotMatch(run.stdout + run.stderr, /looks like you are running TensorFlow\.js in Node/);
  });
});
