// Shares built operators between solves. A gaussian A for 64×64×3 takes seconds to generate and up to 604 MB;
// a worker that solves batch after batch with the same spec should build it once.
import type { ImageShape } from '../models/prior.ts';
import type { LinearOperator, OperatorSpec } from './operator.ts';
import { createOperator, operatorKey } from './registry.ts';

interface Entry {
  op: LinearOperator;
  bytes: number;
  users: number;
  lastUsed: number;
}

export interface OperatorLease {
  readonly op: LinearOperator;
  /** Gives the operator back; it stays cached (or is disposed when over budget and idle). Idempotent. */
  release(): void;
}

/** Bytes of tensor memory an operator holds (the dense matrix dominates; the others hold index vectors). */
export function operatorBytes(op: LinearOperator): number {
  return op.spec.type === 'gaussian' ? op.m * op.n * 4 : op.n * 8;
}

export class OperatorCache {
  private readonly entries = new Map<string, Entry>();
  private clock = 0;
  readonly maxBytes: number;

  /** maxBytes bounds the memory of cached operators not in use (default 1 GiB). */
  constructor(opts: { maxBytes?: number } = {}) {
    this.maxBytes = opts.maxBytes ?? 2 ** 30;
  }

  acquire(spec: OperatorSpec, imageShape: ImageShape): OperatorLease {
    const key = `${imageShape.join('x')}|${operatorKey(spec)}`;
    let entry = this.entries.get(key);
    if (!entry) {
      const op = createOperator(spec, imageShape);
      entry = { op, bytes: operatorBytes(op), users: 0, lastUsed: 0 };
      this.entries.set(key, entry);
    }
    const e = entry;
    e.users++;
    e.lastUsed = ++this.clock;
    let released = false;
    return {
      op: e.op,
      release: () => {
        if (released) return;
        released = true;
        e.users--;
        e.lastUsed = ++this.clock;
        this.evict();
      },
    };
  }

  /** Total bytes held, in use or idle. */
  get bytes(): number {
    let s = 0;
    for (const e of this.entries.values()) s += e.bytes;
    return s;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Disposes idle operators, least recently used first, until the cache fits its budget. */
  private evict(): void {
    const idle = [...this.entries.entries()].filter(([, e]) => e.users === 0).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    let total = this.bytes;
    for (const [key, e] of idle) {
      if (total <= this.maxBytes) break;
      e.op.dispose();
      this.entries.delete(key);
      total -= e.bytes;
    }
  }

  /** Disposes every idle operator. */
  clear(): void {
    for (const [key, e] of this.entries) {
      if (e.users === 0) {
        e.op.dispose();
        this.entries.delete(key);
      }
    }
  }
}
