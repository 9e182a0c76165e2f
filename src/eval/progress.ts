// One progress line on stderr: cells done, what is running, elapsed time and an ETA from the rate so far.

export interface ProgressSink {
  write(s: string): unknown;
  isTTY?: boolean;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export class Progress {
  private done = 0;
  private readonly started = Date.now();
  private lastLength = 0;

  /** total: cells this run will solve (finished cells of an earlier run are not counted). */
  constructor(
    private readonly total: number,
    private readonly sink: ProgressSink | null,
  ) {}

  /** The line for `done` cells after `elapsedMs`; ETA assumes the remaining cells take as long as the done ones. */
  static line(done: number, total: number, elapsedMs: number, label: string): string {
    const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
    const eta = done > 0 ? formatDuration((elapsedMs / done) * (total - done)) : '?';
    return `eval ${done}/${total} cells (${pct}%) · ${label} · ${formatDuration(elapsedMs)} elapsed · ETA ${eta}`;
  }

  /** Announces the batch about to run on a terminal (a log gets one line per finished batch). */
  start(label: string): void {
    if (this.sink?.isTTY) this.print(Progress.line(this.done, this.total, Date.now() - this.started, label));
  }

  advance(cells: number, label: string): void {
    this.done += cells;
    this.print(Progress.line(this.done, this.total, Date.now() - this.started, label));
  }

  finish(): void {
    if (this.sink?.isTTY && this.lastLength > 0) this.sink.write('\n');
    this.lastLength = 0;
  }

  private print(line: string): void {
    if (!this.sink) return;
    if (this.sink.isTTY) {
      // Redraw in place; pad over a longer previous line.
      this.sink.write('\r' + line.padEnd(this.lastLength));
      this.lastLength = line.length;
    } else {
      this.sink.write(line + '\n');
    }
  }
}
