// Multi-threaded SIMD wasm under Node.
//
// Stock tfjs-backend-wasm reports "no thread support" under Node because it would hand Emscripten
// blob: URLs for the worker and main scripts, which worker_threads cannot load. The threaded-SIMD
// Emscripten factory works when given real file paths, so we call it ourselves and register
// `new BackendWasm(module)` as the 'wasm' backend (kernels are registered per backend *name*, so
// every stock wasm kernel applies unchanged).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import * as wasmPkg from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);

const THREADED_JS = 'tfjs-backend-wasm-threaded-simd.js';
const THREADED_WORKER_JS = 'tfjs-backend-wasm-threaded-simd.worker.js';
const THREADED_WASM = 'tfjs-backend-wasm-threaded-simd.wasm';
/** Same priority the stock package registers 'wasm' with. */
const WASM_PRIORITY = 2;

interface PThreadPool {
  unusedWorkers: Worker[];
  runningWorkers: Worker[];
  terminateAllThreads(): void;
}

/** The parts of the Emscripten module that BackendWasm and we use. */
export interface ThreadedWasmModule {
  cwrap(name: string, ret: string | null, args: string[]): (...args: number[]) => number;
  PThread: PThreadPool;
  HEAPU8: Uint8Array;
  tfjs?: Record<string, (...args: number[]) => unknown>;
}

interface FactoryConfig {
  locateFile(file: string, prefix: string): string;
  mainScriptUrlOrBlob: string;
  onAbort(what: unknown): void;
  PThread?: PThreadPool;
}

type ModuleFactory = (config: FactoryConfig) => Promise<ThreadedWasmModule>;

function wasmOutDir(): string {
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
}

/**
 * The package ships the pthread worker only as a JS string (meant for a blob: URL); write it to a
 * file named by its content hash, via rename so concurrent processes never see a partial file.
 */
function writeWorkerScript(dir: string): string {
  const exported = require(path.join(dir, THREADED_WORKER_JS)) as { wasmWorkerContents?: unknown };
  if (typeof exported.wasmWorkerContents !== 'string') throw new Error('pthread worker source not found');
  // The source is a template literal in which "\n" inside string literals became real newlines;
  // the stock loader re-escapes them the same way before making its blob.
  const source = exported.wasmWorkerContents.replace(/\n/g, '\\n');
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `flowprior-tfjs-wasm-${hash}.worker.cjs`);
  if (!fs.existsSync(file)) {
    const partial = `${file}.${process.pid}.${Date.now()}.tmp`;
    fs.writeFileSync(partial, source);
    fs.renameSync(partial, file);
  }
  return file;
}

/**
 * XNNPACK sizes its pool as min(requested, logical cores / 2), reading the core count through
 * os.cpus() (Emscripten's emscripten_num_logical_cores) in the module's static initialisers — which
 * run after the asynchronous wasm instantiation — and when the backend is constructed. We present
 * 2 × threads cores until initialisation settles (or times out). Callers of os.cpus() meanwhile
 * see extra entries copied from real ones, harmless for anything that only counts or samples them.
 */
function presentCores(cores: number): () => void {
  const original = os.cpus;
  os.cpus = () => {
    const real = original();
    const out = real.slice(0, Math.max(cores, 1));
    while (out.length < cores) out.push(real[out.length % real.length] ?? real[0]!);
    return out;
  };
  return () => {
    os.cpus = original;
  };
}

async function withCoreCount<T>(cores: number, fn: () => Promise<T>): Promise<T> {
  const restore = presentCores(cores);
  try {
    return await fn();
  } finally {
    restore();
  }
}

/** The Emscripten glue installs throw-on-error process handlers; the host application owns those. */
export function snapshotProcessHandlers(): () => void {
  const emitter = process as unknown as NodeJS.EventEmitter;
  const events = ['uncaughtException', 'unhandledRejection'];
  const before = new Map(events.map((e) => [e, new Set(emitter.listeners(e))]));
  return () => {
    for (const e of events) {
      for (const l of emitter.listeners(e)) {
        if (!before.get(e)!.has(l)) emitter.removeListener(e, l as (...args: unknown[]) => void);
      }
    }
  };
}

function terminateWorkers(pool: PThreadPool | undefined): void {
  if (!pool) return;
  for (const w of [...pool.unusedWorkers, ...pool.runningWorkers]) void w.terminate();
  pool.unusedWorkers.length = 0;
}

async function createModule(threads: number, timeoutMs: number): Promise<ThreadedWasmModule> {
  const dir = wasmOutDir();
  const workerFile = writeWorkerScript(dir);
  const factory = require(path.join(dir, THREADED_JS)) as ModuleFactory;
  const mainScript = path.join(dir, THREADED_JS);
  let aborted: unknown = null;
  const config: FactoryConfig = {
    locateFile: (file, prefix) => {
      if (file.endsWith('.worker.js')) return workerFile;
      if (file.endsWith('.wasm')) return path.join(dir, THREADED_WASM);
      return prefix + file;
    },
    mainScriptUrlOrBlob: mainScript,
    onAbort: (what) => {
      aborted = what;
    },
  };
  const restoreHandlers = snapshotProcessHandlers();
  const restoreCpus = presentCores(2 * threads);
  let timer: NodeJS.Timeout | undefined;
  try {
    const ready = factory(config);
    ready.catch(() => undefined); // a timeout may win the race; the rejection is handled there
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`threaded wasm init timed out after ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
    });
    const mod = await Promise.race([ready, timeout]);
    if (aborted !== null) throw new Error(`threaded wasm aborted: ${String(aborted)}`);
    return mod;
  } catch (err) {
    terminateWorkers(config.PThread);
    throw err;
  } finally {
    if (timer) clearTimeout(timer);
    restoreCpus();
    restoreHandlers();
  }
}

function attachTfjsBindings(mod: ThreadedWasmModule): void {
  // Mirrors the bindings the stock init() adds; BackendWasm calls them by these names.
  mod.tfjs = {
    init: mod.cwrap('init', null, []),
    initWithThreadsCount: mod.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: mod.cwrap('get_threads_count', 'number', []),
    registerTensor: mod.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: mod.cwrap('dispose_data', null, ['number']),
    dispose: mod.cwrap('dispose', null, []),
  };
}

/**
 * Pool threads block in Atomics.wait between kernels and Emscripten ref()s a worker while it runs a
 * pthread, so without this a script that is done would never exit. Idle pool workers are dropped:
 * XNNPACK's pool is fixed once created, and each idle worker holds a V8 isolate (~7 MB).
 */
function releaseWorkers(pool: PThreadPool): void {
  for (const w of pool.runningWorkers) w.unref();
  for (const w of pool.unusedWorkers) void w.terminate();
  pool.unusedWorkers.length = 0;
}

export interface ThreadedWasmResult {
  threads: number;
  module: ThreadedWasmModule;
}

/**
 * Registers a threaded-SIMD BackendWasm as 'wasm' and makes it current. On failure the stock
 * (single-thread SIMD) 'wasm' factory is restored and the error rethrown for the caller to record.
 */
export async function startThreadedWasm(threads: number, timeoutMs = 30_000): Promise<ThreadedWasmResult> {
  const stockFactory = tf.findBackendFactory('wasm');
  const mod = await createModule(threads, timeoutMs);
  attachTfjsBindings(mod);
  wasmPkg.setThreadsCount(threads);
  let constructError: unknown = null;
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    () => {
      try {
        return new wasmPkg.BackendWasm(mod as never);
      } catch (err) {
        constructError = err;
        throw err;
      }
    },
    WASM_PRIORITY,
  );
  const ok = await withCoreCount(2 * threads, () => tf.setBackend('wasm'));
  if (!ok) {
    terminateWorkers(mod.PThread);
    tf.removeBackend('wasm');
    if (stockFactory) tf.registerBackend('wasm', stockFactory, WASM_PRIORITY);
    throw new Error(`threaded wasm backend failed to start: ${String(constructError ?? 'unknown error')}`);
  }
  releaseWorkers(mod.PThread);
  return { threads: wasmPkg.getThreadsCount(), module: mod };
}
