// Single entry point to TensorFlow.js: every module imports `tf` from here so one tfjs-core instance
// (and its registered backends, gradients and kernel overrides) is shared by the whole process.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { startBackend, describeFailure } from './backends.ts';
import { planEngine, type BackendName, type EngineOptions } from './config.ts';
import { installWasmPatches, type WasmPatchName } from './kernels/install.ts';

export { tf };
export type { BackendName, EngineOptions };
export { BACKEND_ORDER, planEngine } from './config.ts';
export { memoryStats, type MemoryStats } from './memory.ts';
export { installWasmPatches, removeWasmPatches, activeWasmPatches, type WasmPatchName } from './kernels/install.ts';
export { withBackend } from './reference.ts';

export interface EngineInfo {
  backend: BackendName;
  /** Compute threads: the XNNPACK pool size on wasm, the visible cores for TensorFlow, 1 on cpu. */
  threads: number;
  /** Vectorised kernels: wasm SIMD, or native TensorFlow; false for the plain-JS cpu backend. */
  simd: boolean;
  /** The backend asked for (option or FLOWPRIOR_BACKEND), or null for the default order. */
  requested: BackendName | null;
  /** Why each faster backend was skipped, and any degraded mode, e.g. "tensorflow: not installed". */
  fallbacks: string[];
  /** Kernel overrides active on wasm (empty elsewhere). */
  patches: WasmPatchName[];
  /** The one-line summary that initEngine logs. */
  summary: string;
}

let pending: Promise<EngineInfo> | null = null;
let current: EngineInfo | null = null;

function summarise(info: Omit<EngineInfo, 'summary'>): string {
  const parts = [`backend=${info.backend}`, `threads=${info.threads}`, `simd=${info.simd}`];
  if (info.patches.length > 0) parts.push(`patches=${info.patches.join(',')}`);
  if (info.fallbacks.length > 0) parts.push(`fallbacks=[${info.fallbacks.join('; ')}]`);
  return `flowprior engine: ${parts.join(' ')}`;
}

async function start(opts: EngineOptions): Promise<EngineInfo> {
  const plan = planEngine(opts);
  const fallbacks: string[] = [];
  for (const name of plan.candidates) {
    try {
      const started = await startBackend(name, plan);
      await tf.ready();
      fallbacks.push(...started.notes);
      const patchesOff = opts.kernelPatches === false || process.env.FLOWPRIOR_WASM_PATCHES === '0';
      let patches: WasmPatchName[] = [];
      if (name === 'wasm' && !patchesOff) {
        try {
          patches = installWasmPatches();
        } catch (err) {
          fallbacks.push(`wasm kernel patches not installed: ${describeFailure(err)}`);
        }
      }
      const partial = { backend: name, threads: started.threads, simd: started.simd, requested: plan.requested, fallbacks, patches };
      return { ...partial, summary: summarise(partial) };
    } catch (err) {
      fallbacks.push(`${name}: ${describeFailure(err)}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could be started: ${fallbacks.join('; ')}`);
}

/**
 * Selects and initialises the backend once per process: tensorflow-gpu → tensorflow → wasm → cpu,
 * or from the requested one down that order (only it, with `strict`). The first call wins; later
 * calls, whatever their options, return the same info. Logs one summary line to stderr unless
 * `log` says otherwise.
 */
export async function initEngine(opts: EngineOptions = {}): Promise<EngineInfo> {
  if (current) return current;
  if (!pending) {
    pending = start(opts).then(
      (info) => {
        current = info;
        const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
        if (log) log(info.summary);
        return info;
      },
      (err: unknown) => {
        pending = null;
        throw err;
      },
    );
  }
  return pending;
}

export function engineInfo(): EngineInfo | null {
  return current;
}
