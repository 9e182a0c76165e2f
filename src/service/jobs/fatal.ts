/**
 * A wasm abort (out of memory, or any Emscripten abort()) leaves the tfjs backend unusable for the rest of the
 * process: such errors end the worker process so that a fresh one takes over.
 */
export function isFatalEngineError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e.name === 'RuntimeError' && /abort|out of memory|unreachable/i.test(e.message)) return true;
  return /^Aborted\(|Aborted\(\)|Cannot enlarge memory|out of memory/i.test(e.message);
}
