export interface CollectorOptions<T, R> {
  /** Flush a group as soon as it holds this many items. */
  maxBatch: number;
  /** Flush a group this long after its first item arrived, full or not. */
  waitMs: number;
  /** Items with equal keys may be processed together. */
  keyOf(item: T): string;
  /** A smaller cap for the group this item opens (items of one key must agree); maxBatch when absent. */
  maxBatchOf?(item: T): number;
  /** Processes one batch; returns one result per item, in order (an Error entry fails that item alone). */
  run(items: T[], key: string): Promise<Array<R | Error>>;
}

interface Pending<T, R> {
  item: T;
  resolve(r: R): void;
  reject(e: unknown): void;
}

interface Group<T, R> {
  key: string;
  max: number;
  items: Array<Pending<T, R>>;
  timer: NodeJS.Timeout | null;
}

/**
 * Groups compatible items into batches of at most maxBatch and runs the batches one at a time (one device, one
 * solve at a time); items keep collecting while a batch runs. Each submit() resolves with its own result.
 */
export class BatchCollector<T, R> {
  private readonly open = new Map<string, Group<T, R>>();
  private readonly ready: Array<Group<T, R>> = [];
  private running: Promise<void> | null = null;

  constructor(private readonly opts: CollectorOptions<T, R>) {
    if (!(opts.maxBatch >= 1)) throw new RangeError('maxBatch must be at least 1');
  }

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const key = this.opts.keyOf(item);
      let g = this.open.get(key);
      if (!g) {
        const cap = this.opts.maxBatchOf?.(item) ?? this.opts.maxBatch;
        g = { key, max: Math.max(1, Math.min(this.opts.maxBatch, cap)), items: [], timer: null };
        this.open.set(key, g);
        const group = g;
        group.timer = setTimeout(() => this.close(group), this.opts.waitMs);
      }
      g.items.push({ item, resolve, reject });
      if (g.items.length >= g.max) this.close(g);
    });
  }

  /** Items waiting in open groups plus items in batches not yet started. */
  get waiting(): number {
    let n = 0;
    for (const g of this.open.values()) n += g.items.length;
    for (const g of this.ready) n += g.items.length;
    return n;
  }

  /** Sends every open group now (shutdown: no point waiting for more). */
  flushAll(): void {
    for (const g of [...this.open.values()]) this.close(g);
  }

  /** Resolves when nothing is open, ready or running. */
  async idle(): Promise<void> {
    while (this.running || this.open.size > 0 || this.ready.length > 0) {
      if (this.running) await this.running;
      else await new Promise((r) => setTimeout(r, 5));
    }
  }

  private close(g: Group<T, R>): void {
    if (this.open.get(g.key) !== g) return;
    this.open.delete(g.key);
    if (g.timer) clearTimeout(g.timer);
    this.ready.push(g);
    this.drain();
  }

  private drain(): void {
    if (this.running) return;
    const g = this.ready.shift();
    if (!g) return;
    this.running = this.runGroup(g).finally(() => {
      this.running = null;
      this.drain();
    });
  }

  private async runGroup(g: Group<T, R>): Promise<void> {
    try {
      const results = await this.opts.run(
        g.items.map((p) => p.item),
        g.key,
      );
      if (results.length !== g.items.length) {
        throw new Error(`batch returned ${results.length} results for ${g.items.length} items`);
      }
      g.items.forEach((p, i) => {
        const r = results[i];
        if (r instanceof Error) p.reject(r);
        else p.resolve(r);
      });
    } catch (e) {
      for (const p of g.items) p.reject(e);
    }
  }
}
