/**
 * 2-D DCT spectra of every N×N block of one image plane, by position row, computed on demand and dropped once the
 * sweep over reference blocks has moved past them. Every block position is a candidate of some group and each block
 * enters many groups, so computing each spectrum once beats transforming per group; keeping only the rows a search
 * window can reach bounds memory (≈ 40 rows of positions instead of all of them).
 */
export class BlockSpectra {
  readonly positionsW: number;
  readonly positionsH: number;
  /** Per image row x and start column c: the 1-D DCT of the N pixels (x, c … c+N−1); [x][c][v]. */
  private readonly rowDct: Float32Array;
  private readonly rows = new Map<number, Float32Array>();

  constructor(
    plane: Float32Array,
    readonly height: number,
    readonly width: number,
    private readonly d: Float64Array,
    readonly size: number,
  ) {
    const n = size;
    this.positionsW = width - n + 1;
    this.positionsH = height - n + 1;
    this.rowDct = new Float32Array(height * this.positionsW * n);
    for (let x = 0; x < height; x++) {
      for (let c = 0; c < this.positionsW; c++) {
        const out = (x * this.positionsW + c) * n;
        const inp = x * width + c;
        for (let v = 0; v < n; v++) {
          let s = 0;
          for (let y = 0; y < n; y++) s += plane[inp + y] * d[v * n + y];
          this.rowDct[out + v] = s;
        }
      }
    }
  }

  /** Spectra of the blocks whose top row is r: positionsW blocks of N² coefficients (row-major u, v). */
  row(r: number): Float32Array {
    let spectra = this.rows.get(r);
    if (spectra) return spectra;
    const n = this.size;
    const nn = n * n;
    const d = this.d;
    spectra = new Float32Array(this.positionsW * nn);
    for (let c = 0; c < this.positionsW; c++) {
      const out = c * nn;
      for (let u = 0; u < n; u++) {
        for (let v = 0; v < n; v++) {
          let s = 0;
          for (let x = 0; x < n; x++) s += d[u * n + x] * this.rowDct[((r + x) * this.positionsW + c) * n + v];
          spectra[out + u * n + v] = s;
        }
      }
    }
    this.rows.set(r, spectra);
    return spectra;
  }

  /** Forgets rows above `r` (the sweep never comes back to them). */
  dropRowsBelow(r: number): void {
    for (const key of this.rows.keys()) if (key < r) this.rows.delete(key);
  }
}
