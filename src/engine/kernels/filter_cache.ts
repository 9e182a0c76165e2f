// Cache of derived filters (the 180°-rotated, in/out-swapped filter used by backprop-input), keyed by
// the source buffer. Weights are immutable buffers in tfjs (a Variable's assign swaps in a new
// dataId), so a dataId identifies its contents for its whole life. Caching also keeps the derived
// buffer's id stable, which lets XNNPACK reuse the packed operator it caches per filter id instead
// of repacking on every call.
import type { DataId, TensorInfo } from '@tensorflow/tfjs';
import { dispose, type WasmBackendLike } from './wasm_ops.ts';

interface Entry {
  source: DataId;
  shapeKey: string;
  derived: TensorInfo;
  bytes: number;
}

export class DerivedFilterCache {
  private entries: Entry[] = []; // least recently used first
  private backend: WasmBackendLike | null = null;
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(public maxBytes: number) {}

  get sizeBytes(): number {
    return this.bytes;
  }

  get size(): number {
    return this.entries.length;
  }

  getOrCreate(backend: WasmBackendLike, source: TensorInfo, make: () => TensorInfo): TensorInfo {
    if (this.backend !== backend) this.reset(backend);
    const shapeKey = source.shape.join('x');
    const i = this.entries.findIndex((e) => e.source === source.dataId && e.shapeKey === shapeKey);
    if (i >= 0) {
      const [hit] = this.entries.splice(i, 1);
      this.entries.push(hit!);
      this.hits++;
      return hit!.derived;
    }
    this.misses++;
    this.sweep(backend);
    const derived = make();
    const bytes = 4 * derived.shape.reduce((a, b) => a * b, 1);
    if (bytes > this.maxBytes) return derived; // caller must then dispose it: see `owns`
    this.entries.push({ source: source.dataId, shapeKey, derived, bytes });
    this.bytes += bytes;
    while (this.bytes > this.maxBytes && this.entries.length > 1) this.evict(0, backend);
    return derived;
  }

  /** Whether `derived` is held by the cache (otherwise the caller disposes it). */
  owns(derived: TensorInfo): boolean {
    return this.entries.some((e) => e.derived === derived);
  }

  /** Drops entries whose source buffer has been freed. */
  sweep(backend: WasmBackendLike): void {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (!backend.dataIdMap.has(this.entries[i]!.source)) this.evict(i, backend);
    }
  }

  clear(): void {
    if (this.backend) for (let i = this.entries.length - 1; i >= 0; i--) this.evict(i, this.backend);
    this.entries = [];
    this.bytes = 0;
  }

  private evict(i: number, backend: WasmBackendLike): void {
    const [e] = this.entries.splice(i, 1);
    if (!e) return;
    this.bytes -= e.bytes;
    if (backend.dataIdMap.has(e.derived.dataId)) dispose(backend, e.derived);
  }

  /** A new backend instance means the old buffers are gone with the old heap: forget, do not free. */
  private reset(backend: WasmBackendLike): void {
    this.entries = [];
    this.bytes = 0;
    this.backend = backend;
  }
}
