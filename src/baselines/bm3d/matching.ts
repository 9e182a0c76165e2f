import { floorPowerOfTwo } from './transforms.ts';

/** The blocks grouped with one reference block, most similar first (the reference itself is always first). */
export interface MatchBuffers {
  rows: Int32Array;
  cols: Int32Array;
  dist: Float64Array;
}

export function matchBuffers(capacity: number): MatchBuffers {
  return { rows: new Int32Array(capacity), cols: new Int32Array(capacity), dist: new Float64Array(capacity) };
}

/**
 * Full-search block matching in a window around the reference block (r0, c0) of `plane`: keeps the `maxCount`
 * blocks with the smallest sum of squared differences below `maxSsd`, sorted, and returns how many to use (a
 * power of two, as the Haar transform along the group needs). A candidate's sum stops accumulating as soon as it
 * exceeds the current cut-off, which rejects most candidates after a row or two.
 */
export function matchBlocks(
  plane: Float32Array,
  height: number,
  width: number,
  size: number,
  r0: number,
  c0: number,
  halfWindow: number,
  maxCount: number,
  maxSsd: number,
  out: MatchBuffers,
): number {
  out.rows[0] = r0;
  out.cols[0] = c0;
  out.dist[0] = 0;
  let found = 1;
  const rMin = Math.max(0, r0 - halfWindow);
  const rMax = Math.min(height - size, r0 + halfWindow);
  const cMin = Math.max(0, c0 - halfWindow);
  const cMax = Math.min(width - size, c0 + halfWindow);
  const refBase = r0 * width + c0;
  for (let r = rMin; r <= rMax; r++) {
    for (let c = cMin; c <= cMax; c++) {
      if (r === r0 && c === c0) continue;
      const cutoff = found === maxCount ? Math.min(maxSsd, out.dist[found - 1]) : maxSsd;
      const candBase = r * width + c;
      let ssd = 0;
      for (let x = 0; x < size && ssd < cutoff; x++) {
        const a = refBase + x * width;
        const b = candBase + x * width;
        for (let y = 0; y < size; y++) {
          const diff = plane[a + y] - plane[b + y];
          ssd += diff * diff;
        }
      }
      if (ssd >= cutoff) continue;
      // Insert in order (the list holds at most maxCount ≤ 32 entries; the reference stays first at 0).
      let k = found === maxCount ? found - 1 : found++;
      while (k > 1 && out.dist[k - 1] > ssd) {
        out.rows[k] = out.rows[k - 1];
        out.cols[k] = out.cols[k - 1];
        out.dist[k] = out.dist[k - 1];
        k--;
      }
      out.rows[k] = r;
      out.cols[k] = c;
      out.dist[k] = ssd;
    }
  }
  return floorPowerOfTwo(found);
}
