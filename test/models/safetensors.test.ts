import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeSafetensors, encodeSafetensors } from '../../src/models/safetensors.ts';
import type { WeightArrays } from '../../src/models/tensor_data.ts';

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

describe('safetensors', () => {
  it('round-trips float32 bit-exactly, special values and NaN payloads included', () => {
    const special = new Float32Array(8);
    const u = bits(special);
    u.set([0x7fc00001, 0xffa00000, 0x80000000, 0x00000001, 0x7f800000, 0xff800000, 0x3f800000, 0x807fffff]);
    const random = new Float32Array(1000);
    const ru = bits(random);
    let s = 12345;
    for (let i = 0; i < ru.length; i++) ru[i] = s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const w: WeightArrays = new Map([
      ['b.special', { shape: [2, 4], data: special }],
      ['a.random', { shape: [10, 10, 10], data: random }],
      ['c.scalar', { shape: [], data: Float32Array.from([3.5]) }],
      ['d.empty', { shape: [0, 3], data: new Float32Array(0) }],
    ]);
    const file = encodeSafetensors(w, { note: 'round trip' });
    const back = decodeSafetensors(file);
    assert.deepEqual(back.metadata, { note: 'round trip' });
    assert.deepEqual([...back.tensors.keys()].sort(), [...w.keys()].sort());
    for (const [k, v] of w) {
      const r = back.tensors.get(k)!;
      assert.deepEqual(r.shape, v.shape, k);
      assert.deepEqual([...bits(r.data)], [...bits(v.data)], `${k} bits`);
    }
  });

  it('writes the documented layout: u64 header length, JSON header, 8-byte aligned little-endian data', () => {
    const data = Float32Array.from([1, -2, 0.25]);
    const file = encodeSafetensors(new Map([['x', { shape: [3], data }]]));
    const n = Number(file.readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0);
    const header = JSON.parse(file.toString('utf8', 8, 8 + n)) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
    assert.deepEqual(header.x, { dtype: 'F32', shape: [3], data_offsets: [0, 12] });
    assert.equal(file.length, 8 + n + 12);
    for (let i = 0; i < 3; i++) assert.equal(file.readFloatLE(8 + n + 4 * i), data[i]);
  });

  it('rejects inconsistent files with clear errors', () => {
    const good = encodeSafetensors(new Map([['x', { shape: [2], data: Float32Array.from([1, 2]) }]]));
    assert.throws(() => decodeSafetensors(good.subarray(0, good.length - 4)), /inconsistent offsets/);
    const n = Number(good.readBigUInt64LE(0));
    const f16 = Buffer.from(good);
    f16.write(good.toString('utf8', 8, 8 + n).replace('"F32"', '"F16"'), 8, 'utf8');
    assert.throws(() => decodeSafetensors(f16), /only F32/);
    const huge = Buffer.from(good);
    huge.writeBigUInt64LE(10n ** 12n, 0);
    assert.throws(() => decodeSafetensors(huge), /header length exceeds/);
    assert.throws(() => encodeSafetensors(new Map([['x', { shape: [3], data: new Float32Array(2) }]])), /2 values for shape/);
  });
});
