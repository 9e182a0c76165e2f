import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Appends one JSON object per line (the training log); each write is one append, so a crash loses at most a line. */
export class JsonlLog {
  private ready: Promise<void>;

  constructor(readonly path: string) {
    this.ready = mkdir(dirname(path), { recursive: true }).then(() => undefined);
  }

  async write(entry: Record<string, unknown>): Promise<void> {
    await this.ready;
    await appendFile(this.path, `${JSON.stringify(entry)}\n`);
  }
}

/** Mean of the last `size` values (the progress line's smoothed loss). */
export class RunningMean {
  private values: number[] = [];
  constructor(private readonly size = 20) {}
  push(v: number): void {
    if (!Number.isFinite(v)) return;
    this.values.push(v);
    if (this.values.length > this.size) this.values.shift();
  }
  get value(): number {
    return this.values.length ? this.values.reduce((a, b) => a + b, 0) / this.values.length : Number.NaN;
  }
}

/** Throughput over the recent steps only, so pauses for validation or checkpoints do not distort it. */
export class Throughput {
  private marks: Array<{ t: number; images: number }> = [];
  constructor(private readonly window = 20) {}
  mark(images: number, t = performance.now()): void {
    this.marks.push({ t, images });
    if (this.marks.length > this.window + 1) this.marks.shift();
  }
  /** Restart the window (after a pause that is not training time). */
  reset(): void {
    this.marks = this.marks.slice(-1);
    if (this.marks[0]) this.marks[0].t = performance.now();
  }
  perSecond(): number {
    if (this.marks.length < 2) return Number.NaN;
    const first = this.marks[0]!;
    const last = this.marks[this.marks.length - 1]!;
    const images = this.marks.slice(1).reduce((a, m) => a + m.images, 0);
    return (images * 1000) / Math.max(1e-9, last.t - first.t);
  }
}

export function formatMinutes(seconds: number): string {
  return seconds < 3600 ? `${(seconds / 60).toFixed(1)} min` : `${(seconds / 3600).toFixed(2)} h`;
}

/**
 * Where the progress line goes: on a terminal it is rewritten in place; otherwise (a log file) it is printed
 * as a plain line every `every` steps.
 */
export class ProgressLine {
  private lastLength = 0;
  constructor(
    private readonly stream: NodeJS.WriteStream | null,
    private readonly every: number,
  ) {}

  update(step: number, text: string): void {
    if (!this.stream) return;
    if (this.stream.isTTY) {
      const pad = Math.max(0, this.lastLength - text.length);
      this.stream.write(`\r${text}${' '.repeat(pad)}`);
      this.lastLength = text.length;
    } else if (step % this.every === 0) {
      this.stream.write(`${text}\n`);
    }
  }

  /** A line of its own (validation, checkpoint): ends the in-place line first. */
  note(text: string): void {
    if (!this.stream) return;
    if (this.stream.isTTY && this.lastLength > 0) this.stream.write('\n');
    this.lastLength = 0;
    this.stream.write(`${text}\n`);
  }
}
