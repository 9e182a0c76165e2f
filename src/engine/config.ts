import os from 'node:os';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/** Fastest first: the order in which backends are tried when none is requested. */
export const BACKEND_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface EngineOptions {
  /** Backend to try first; the ones after it in BACKEND_ORDER remain fallbacks unless `strict`. */
  backend?: BackendName;
  /** Worker threads for the wasm backend (informational for the others). */
  threads?: number;
  /** Fail instead of falling back when the requested backend cannot be started. */
  strict?: boolean;
  /** Install the wasm kernel overrides (default true; FLOWPRIOR_WASM_PATCHES=0 also disables them). */
  kernelPatches?: boolean;
  /** Where the one-line engine summary goes; `false` silences it. Default: stderr. */
  log?: ((line: string) => void) | false;
}

export interface EnginePlan {
  candidates: BackendName[];
  requested: BackendName | null;
  threads: number;
  strict: boolean;
  /** How long the threaded wasm module may take to start before single-thread wasm is used. */
  wasmInitTimeoutMs: number;
}

export function isBackendName(value: string): value is BackendName {
  return (BACKEND_ORDER as readonly string[]).includes(value);
}

function parseBackend(value: string | undefined, source: string): BackendName | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim().toLowerCase();
  if (!isBackendName(v)) {
    throw new Error(`${source}=${JSON.stringify(value)} is not one of ${BACKEND_ORDER.join(', ')}`);
  }
  return v;
}

function parsePositiveInt(value: string | undefined, source: string, max: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value.trim());
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${source}=${JSON.stringify(value)} must be an integer between 1 and ${max}`);
  return n;
}

function parseThreads(value: number | string | undefined, source: string): number | undefined {
  if (value === undefined || (typeof value === 'string' && value.trim() === '')) return undefined;
  const n = typeof value === 'number' ? value : Number(value.trim());
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new Error(`${source}=${JSON.stringify(value)} must be an integer between 1 and 256`);
  }
  return n;
}

export function defaultThreads(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/**
 * Options passed in code win over the environment (FLOWPRIOR_BACKEND, FLOWPRIOR_THREADS), which win
 * over the defaults. Invalid values throw: a typo in a deployment should stop the process, not
 * silently pick another backend.
 */
export function planEngine(opts: EngineOptions = {}, env: NodeJS.ProcessEnv = process.env): EnginePlan {
  const requested =
    parseBackend(opts.backend, 'backend') ?? parseBackend(env.FLOWPRIOR_BACKEND, 'FLOWPRIOR_BACKEND') ?? null;
  const threads =
    parseThreads(opts.threads, 'threads') ??
    parseThreads(env.FLOWPRIOR_THREADS, 'FLOWPRIOR_THREADS') ??
    defaultThreads();
  const strict = opts.strict ?? false;
  const wasmInitTimeoutMs = parsePositiveInt(env.FLOWPRIOR_WASM_INIT_TIMEOUT_MS, 'FLOWPRIOR_WASM_INIT_TIMEOUT_MS', 600_000) ?? 30_000;
  let candidates: BackendName[];
  if (requested === null) candidates = [...BACKEND_ORDER];
  else if (strict) candidates = [requested];
  else candidates = BACKEND_ORDER.slice(BACKEND_ORDER.indexOf(requested));
  return { candidates, requested, threads, strict, wasmInitTimeoutMs };
}
