import type { TensorData, WeightArrays } from './tensor_data.ts';
import { sizeOf } from './tensor_data.ts';

/**
 * The safetensors format: u64 little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`, then raw little-endian data.
 * Only F32 tensors are written and read; values round-trip bit-exactly (NaN payloads included).
 */
export interface SafetensorsFile {
  tensors: WeightArrays;
  metadata: Record<string, string>;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function f32Bytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) dv.setFloat32(4 * i, data[i]!, true);
  return out;
}

export function encodeSafetensors(tensors: WeightArrays, metadata: Record<string, string> = {}): Buffer {
  const names = [...tensors.keys()].sort();
  const header: Record<string, HeaderEntry | Record<string, string>> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    if (t.data.length !== sizeOf(t.shape)) {
      throw new Error(`safetensors: ${name} has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    }
    header[name] = { dtype: 'F32', shape: t.shape.slice(), data_offsets: [offset, offset + 4 * t.data.length] };
    offset += 4 * t.data.length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  // Pad with spaces so the data starts 8-byte aligned (what the reference implementation does).
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.alloc(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  let p = 8 + json.length;
  for (const name of names) {
    const b = f32Bytes(tensors.get(name)!.data);
    out.set(b, p);
    p += b.length;
  }
  return out;
}

export function decodeSafetensors(buf: Buffer): SafetensorsFile {
  if (buf.length < 8) throw new Error('safetensors: file too short');
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen > buf.length - 8) throw new Error('safetensors: header length exceeds file size');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.toString('utf8', 8, 8 + headerLen)) as Record<string, unknown>;
  } catch {
    throw new Error('safetensors: header is not valid JSON');
  }
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const tensors: WeightArrays = new Map();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as HeaderEntry;
    if (e.dtype !== 'F32') throw new Error(`safetensors: ${name} has dtype ${e.dtype}; only F32 is supported`);
    const [begin, end] = e.data_offsets;
    const n = sizeOf(e.shape);
    if (!(begin >= 0 && end <= dataLen && end - begin === 4 * n)) {
      throw new Error(`safetensors: ${name} has inconsistent offsets for shape [${e.shape.join(', ')}]`);
    }
    const start = buf.byteOffset + dataStart + begin;
    let data: Float32Array;
    if (LITTLE_ENDIAN) {
      // A byte copy (not value conversion) keeps NaN payloads, and makes the data aligned.
      data = new Float32Array(buf.buffer.slice(start, start + 4 * n));
    } else {
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(dataStart + begin + 4 * i);
    }
    const t: TensorData = { shape: e.shape.slice(), data };
    tensors.set(name, t);
  }
  return { tensors, metadata };
}
