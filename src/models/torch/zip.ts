import { inflateRawSync } from 'node:zlib';

/** One member of a zip archive, located through the central directory. */
export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const U32_MAX = 0xffffffff;

function u64(buf: Buffer, off: number): number {
  const v = buf.readBigUInt64LE(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('zip: 64-bit field too large');
  return Number(v);
}

/**
 * Read-only zip archive held in memory. Supports what PyTorch (and ordinary zip tools) write:
 * stored and deflated members, ZIP64 sizes and offsets.
 */
export class ZipArchive {
  readonly entries: Map<string, ZipEntry>;

  constructor(private readonly buf: Buffer) {
    this.entries = new Map(readCentralDirectory(buf).map((e) => [e.name, e]));
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Uncompressed bytes of one member (a view into the archive for stored members). */
  read(name: string): Buffer {
    const e = this.entries.get(name);
    if (!e) throw new Error(`zip: no member named ${JSON.stringify(name)}`);
    const buf = this.buf;
    const h = e.localHeaderOffset;
    if (h + 30 > buf.length || buf.readUInt32LE(h) !== LOCAL_SIG) {
      throw new Error(`zip: bad local header for ${e.name}`);
    }
    // The local header's own name/extra lengths may differ from the central directory's.
    const start = h + 30 + buf.readUInt16LE(h + 26) + buf.readUInt16LE(h + 28);
    const end = start + e.compressedSize;
    if (end > buf.length) throw new Error(`zip: member ${e.name} runs past the end of the archive`);
    const raw = buf.subarray(start, end);
    let out: Buffer;
    if (e.method === 0) out = raw;
    else if (e.method === 8) out = inflateRawSync(raw);
    else throw new Error(`zip: member ${e.name} uses unsupported compression method ${e.method}`);
    if (out.length !== e.size) {
      throw new Error(`zip: member ${e.name} has ${out.length} bytes, directory says ${e.size}`);
    }
    return out;
  }
}

function findEocd(buf: Buffer): number {
  // The end record is 22 bytes plus a comment of at most 65535 bytes.
  const min = Math.max(0, buf.length - 22 - 0xffff);
  for (let i = buf.length - 22; i >= min; i--) {
    if (buf.readUInt32LE(i) === EOCD_SIG) return i;
  }
  throw new Error('zip: end of central directory not found (not a zip archive?)');
}

function readCentralDirectory(buf: Buffer): ZipEntry[] {
  if (buf.length < 22) throw new Error('zip: file too short');
  const eocd = findEocd(buf);
  let count = buf.readUInt16LE(eocd + 10);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  const loc = eocd - 20;
  if (loc >= 0 && buf.readUInt32LE(loc) === ZIP64_LOCATOR_SIG) {
    const z64 = u64(buf, loc + 8);
    if (buf.readUInt32LE(z64) !== ZIP64_EOCD_SIG) throw new Error('zip: bad ZIP64 end record');
    count = u64(buf, z64 + 32);
    cdOffset = u64(buf, z64 + 48);
  }
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CENTRAL_SIG) {
      throw new Error('zip: corrupt central directory');
    }
    const method = buf.readUInt16LE(p + 10);
    let compressedSize = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let localHeaderOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    // ZIP64 extended information: present fields appear in this fixed order, only for saturated values.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = buf.readUInt16LE(x);
      const len = buf.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        if (size === U32_MAX) (size = u64(buf, q)), (q += 8);
        if (compressedSize === U32_MAX) (compressedSize = u64(buf, q)), (q += 8);
        if (localHeaderOffset === U32_MAX) localHeaderOffset = u64(buf, q);
      }
      x += 4 + len;
    }
    entries.push({ name, method, compressedSize, size, localHeaderOffset });
    p = xEnd + commentLen;
  }
  return entries;
}
