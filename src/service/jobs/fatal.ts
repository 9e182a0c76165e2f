/**
 * A wasm abort or trap (out of memory, any Emscripten abort(), or a trap such as "memory access out of bounds",
 * which is how a failed allocation surfaces in the single-threaded build) leaves the tfjs backend unusable for the
 * rest of the process: such errors end the worker process so that a fresh one takes over.
 */
export function isFatalEngineError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.RuntimeError) return true;
  if (e.name === 'RuntimeError') return true;
  return /^Aborted\(|Aborted\(\)|Cannot enlarge memory|out of memory/i.test(e.message);
}
