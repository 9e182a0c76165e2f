import * as tf from '@tensorflow/tfjs';
import * as wasmPkg from '@tensorflow/tfjs-backend-wasm';
import { defaultThreads, type BackendName, type EnginePlan } from './config.ts';
import { silenceCpuBanner } from './reference.ts';
import { snapshotProcessHandlers, startThreadedWasm } from './wasm_threaded.ts';

export interface StartedBackend {
  threads: number;
  simd: boolean;
  /** Notes about degraded modes (e.g. wasm without threads), recorded alongside backend fallbacks. */
  notes: string[];
}

/** One line explaining why a backend could not start. */
export function describeFailure(err: unknown): string {
  const e = err as { message?: string } | null;
  const first = String(e?.message ?? err).split('\n')[0]!.trim();
  return first.length > 200 ? `${first.slice(0, 197)}...` : first;
}

/** "not installed" when the package itself is missing; otherwise what failed (e.g. its native library). */
async function importOptional(specifier: string): Promise<void> {
  try {
    await import(specifier);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const missing = (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') && String(e.message).includes(`'${specifier}'`);
    throw new Error(missing ? 'not installed' : `cannot load ${specifier}: ${describeFailure(err)}`);
  }
}

/**
 * tfjs-node(-gpu) register a 'tensorflow' backend on the tfjs-core they import. They are optional
 * dependencies: absent, or present without their native library, the import throws.
 */
async function startTensorflow(gpu: boolean): Promise<StartedBackend> {
  // A non-literal specifier keeps the type checker from requiring the optional package.
  const specifier: string = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  await importOptional(specifier);
  if (!tf.findBackendFactory('tensorflow')) {
    throw new Error(`${specifier} loaded a second copy of @tensorflow/tfjs-core; dedupe the install`);
  }
  if (!(await tf.setBackend('tensorflow'))) throw new Error('the tensorflow backend failed to initialise');
  const notes: string[] = [];
  const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  if (gpu && backend.isUsingGpuDevice === false) notes.push('tensorflow-gpu: no GPU device visible, TensorFlow runs on CPU');
  return { threads: defaultThreads(), simd: true, notes };
}

async function startWasm(threads: number, initTimeoutMs: number): Promise<StartedBackend> {
  const notes: string[] = [];
  if (threads > 1) {
    try {
      const r = await startThreadedWasm(threads, initTimeoutMs);
      if (r.threads < threads) notes.push(`wasm: XNNPACK pool has ${r.threads} of ${threads} requested threads`);
      return { threads: r.threads, simd: true, notes };
    } catch (err) {
      notes.push(`wasm threads unavailable (${describeFailure(err)}), using single-thread SIMD wasm`);
    }
  }
  const restoreHandlers = snapshotProcessHandlers();
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
  } finally {
    restoreHandlers();
  }
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  return { threads: wasmPkg.getThreadsCount(), simd, notes };
}

async function startCpu(): Promise<StartedBackend> {
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
  silenceCpuBanner();
  return { threads: 1, simd: false, notes: [] };
}

export function startBackend(name: BackendName, plan: Pick<EnginePlan, 'threads' | 'wasmInitTimeoutMs'>): Promise<StartedBackend> {
  switch (name) {
    case 'tensorflow-gpu':
      return startTensorflow(true);
    case 'tensorflow':
      return startTensorflow(false);
    case 'wasm':
      return startWasm(plan.threads, plan.wasmInitTimeoutMs);
    case 'cpu':
      return startCpu();
  }
}
