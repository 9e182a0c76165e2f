import { readFile } from 'node:fs/promises';
import type { TensorData } from '../tensor_data.ts';
import { PyTuple, unpickle, type PyCallable } from './unpickle.ts';
import { ZipArchive } from './zip.ts';

export type TorchDType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

const STORAGE_DTYPES: Record<string, TorchDType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  UntypedStorage: 'uint8',
};

const ITEM_BYTES: Record<TorchDType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** A tensor from a checkpoint, values converted to float32 (int64 counters and the like included). */
export interface TorchTensor extends TensorData {
  dtype: TorchDType;
}

export function isTorchTensor(v: unknown): v is TorchTensor {
  return v instanceof TorchTensorValue;
}

class TorchTensorValue implements TorchTensor {
  constructor(readonly dtype: TorchDType, public shape: number[], public data: Float32Array) {}
}

interface StorageRef {
  dtype: TorchDType;
  bytes: Buffer;
}

type StorageType = PyCallable & { torchDtype: TorchDType };

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Element i of a storage as a JS number. */
function elementReader(st: StorageRef): (i: number) => number {
  const b = st.bytes;
  switch (st.dtype) {
    case 'float32': return (i) => b.readFloatLE(4 * i);
    case 'float64': return (i) => b.readDoubleLE(8 * i);
    case 'float16': return (i) => halfToFloat(b.readUInt16LE(2 * i));
    case 'bfloat16': {
      const tmp = new DataView(new ArrayBuffer(4));
      return (i) => (tmp.setUint32(0, b.readUInt16LE(2 * i) << 16), tmp.getFloat32(0));
    }
    case 'int64': return (i) => Number(b.readBigInt64LE(8 * i));
    case 'int32': return (i) => b.readInt32LE(4 * i);
    case 'int16': return (i) => b.readInt16LE(2 * i);
    case 'int8': return (i) => b.readInt8(i);
    case 'uint8':
    case 'bool': return (i) => b[i]!;
  }
}

function rebuildTensor(storage: unknown, offset: unknown, size: unknown, stride: unknown): TorchTensorValue {
  const st = storage as StorageRef;
  if (!st || !(st.bytes instanceof Buffer)) throw new Error('torch checkpoint: tensor without a storage');
  if (!(size instanceof PyTuple) || !(stride instanceof PyTuple) || typeof offset !== 'number') {
    throw new Error('torch checkpoint: malformed tensor arguments');
  }
  const shape = size.items.map(Number);
  const strides = stride.items.map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const available = st.bytes.length / ITEM_BYTES[st.dtype];
  const out = new Float32Array(n);
  if (n === 0) return new TorchTensorValue(st.dtype, shape, out);
  let last = offset;
  for (let d = 0; d < shape.length; d++) last += (shape[d]! - 1) * strides[d]!;
  if (offset < 0 || last >= available) throw new Error('torch checkpoint: tensor view runs past its storage');
  let contiguous = true;
  for (let d = shape.length - 1, expect = 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== expect) contiguous = false;
    expect *= shape[d]!;
  }
  if (contiguous && st.dtype === 'float32') {
    const start = st.bytes.byteOffset + 4 * offset;
    if (start % 4 === 0) out.set(new Float32Array(st.bytes.buffer, start, n));
    else for (let i = 0; i < n; i++) out[i] = st.bytes.readFloatLE(4 * (offset + i));
    return new TorchTensorValue(st.dtype, shape, out);
  }
  const read = elementReader(st);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let src = offset;
    for (let d = 0; d < shape.length; d++) src += idx[d]! * strides[d]!;
    out[i] = read(src);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return new TorchTensorValue(st.dtype, shape, out);
}

function findClass(module: string, name: string): PyCallable {
  const full = `${module}.${name}`;
  if (full === 'collections.OrderedDict' || full === 'builtins.dict') {
    return (pairs?: unknown) => new Map(Array.isArray(pairs) ? (pairs as PyTuple[]).map((p) => p.items as [unknown, unknown]) : []);
  }
  if (full === 'torch._utils._rebuild_tensor_v2' || full === 'torch._utils._rebuild_tensor') {
    return (storage, offset, size, stride) => rebuildTensor(storage, offset, size, stride);
  }
  if (full === 'torch._utils._rebuild_parameter' || full === 'torch._utils._rebuild_parameter_with_state') {
    return (data) => data;
  }
  if (module === 'torch' && name in STORAGE_DTYPES) {
    const f = (() => {
      throw new Error(`torch checkpoint: ${full} cannot be called`);
    }) as unknown as StorageType;
    f.torchDtype = STORAGE_DTYPES[name]!;
    return f;
  }
  if (full === 'torch.Size') return (dims) => dims;
  throw new Error(`torch checkpoint: refusing to load unsupported global ${full}`);
}

/** Reads a PyTorch zip checkpoint (torch.save, any pickled object of tensors, dicts, lists, numbers). */
export function parseTorchCheckpoint(file: Buffer): unknown {
  if (file.length < 4 || file.readUInt32LE(0) !== 0x04034b50) {
    throw new Error('torch checkpoint: not a zip archive (the legacy pre-1.6 format is not supported)');
  }
  const zip = new ZipArchive(file);
  const pkl = zip.names().find((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (!pkl) throw new Error('torch checkpoint: no data.pkl in the archive');
  const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
  const storages = new Map<string, StorageRef>();
  return unpickle(zip.read(pkl), {
    findClass,
    persistentLoad: (pid) => {
      if (!(pid instanceof PyTuple) || pid.items[0] !== 'storage') throw new Error('torch checkpoint: unknown persistent id');
      const [, type, key] = pid.items as [string, StorageType, unknown];
      const dtype = type?.torchDtype;
      if (!dtype) throw new Error('torch checkpoint: persistent id without a storage type');
      const k = String(key);
      let st = storages.get(k);
      if (!st) {
        st = { dtype, bytes: zip.read(`${prefix}data/${k}`) };
        storages.set(k, st);
      }
      return st;
    },
  });
}

export async function readTorchCheckpoint(path: string): Promise<unknown> {
  return parseTorchCheckpoint(await readFile(path));
}

function asStateDict(obj: unknown): Map<string, TorchTensor> | null {
  if (!(obj instanceof Map) || obj.size === 0) return null;
  for (const [k, v] of obj) if (typeof k !== 'string' || !isTorchTensor(v)) return null;
  return obj as Map<string, TorchTensor>;
}

/**
 * The state_dict inside a checkpoint: the top-level object itself, or the entry named `key`
 * (e.g. 'model' or 'ema' in a training checkpoint), or a single 'state_dict' entry.
 */
export async function readTorchStateDict(path: string, opts: { key?: string } = {}): Promise<Map<string, TorchTensor>> {
  let obj = await readTorchCheckpoint(path);
  if (opts.key !== undefined) {
    if (!(obj instanceof Map) || !obj.has(opts.key)) throw new Error(`torch checkpoint ${path}: no entry ${opts.key}`);
    obj = obj.get(opts.key);
  } else if (!asStateDict(obj) && obj instanceof Map && obj.has('state_dict')) {
    obj = obj.get('state_dict');
  }
  const sd = asStateDict(obj);
  if (!sd) throw new Error(`torch checkpoint ${path}: not a state_dict of tensors`);
  return sd;
}
