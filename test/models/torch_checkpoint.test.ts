import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTorchCheckpoint, readTorchStateDict } from '../../src/models/torch/checkpoint.ts';
import { PyTuple, unpickle, PICKLE_STATE } from '../../src/models/torch/unpickle.ts';
import { ZipArchive } from '../../src/models/torch/zip.ts';
import { FIXTURES_DIR, SKIP_NO_FIXTURES } from './helpers/fixtures.ts';
import { PickleWriter } from './helpers/pickle_writer.ts';
import { writeZip } from './helpers/zip_writer.ts';


const noGlobals = {
  findClass: (m: string, n: string) => {
    throw new Error(`no globals here: ${m}.${n}`);
  },
};

describe('unpickle', () => {
  it('decodes scalars, strings, containers and the memo', () => {
    const w = new PickleWriter().proto().emptyDict().binput(0).mark();
    w.str('ints').mark().int(7).int(300).int(-5).int(70000).long1(-2n, 1).long1(2n ** 70n, 9).tuple();
    w.str('float').float(-1.25e-3);
    w.str('flags').none().bool(true).bool(false).raw(0x87); // TUPLE3
    w.str('list').emptyList().binput(1).mark().str('x').str('y').appends();
    w.str('again').binget(1);
    w.str('big memo').str('kept').longBinput(300).raw(0x30).longBinget(300); // POP then fetch back
    w.setitems().stop();
    const v = unpickle(w.bytes(), noGlobals) as Map<string, unknown>;
    assert.ok(v instanceof Map);
    assert.deepEqual((v.get('ints') as PyTuple).items, [7, 300, -5, 70000, -2, 2n ** 70n]);
    assert.equal(v.get('float'), -1.25e-3);
    assert.deepEqual((v.get('flags') as PyTuple).items, [null, true, false]);
    assert.deepEqual(v.get('list'), ['x', 'y']);
    assert.equal(v.get('again'), v.get('list'), 'BINGET returns the same object, not a copy');
    assert.equal(v.get('big memo'), 'kept');
  });

  it('refuses globals it does not know and reports truncated input', () => {
    const evil = new PickleWriter().proto().global('os', 'system').str('echo hi').tuple1().reduce().stop();
    assert.throws(
      () => parseTorchCheckpoint(writeZip([{ name: 'x/data.pkl', data: evil.bytes() }])),
      /refusing to load unsupported global os\.system/,
    );
    const truncated = new PickleWriter().proto().str('abc').bytes().subarray(0, 6);
    assert.throws(() => unpickle(truncated, noGlobals), /truncated/);
  });
});

describe('zip reader', () => {
  it('reads stored and deflated members and skips local extra fields', () => {
    const a = Buffer.from('stored member');
    const b = Buffer.alloc(5000, 'ab');
    const zip = new ZipArchive(writeZip([{ name: 'd/a', data: a }, { name: 'd/b', data: b, deflate: true }], 'archive comment'));
    assert.deepEqual(zip.names(), ['d/a', 'd/b']);
    assert.deepEqual(zip.read('d/a'), a);
    assert.deepEqual(zip.read('d/b'), b);
    assert.throws(() => zip.read('d/c'), /no member/);
  });

  it('rejects files that are not zip archives', () => {
    assert.throws(() => new ZipArchive(Buffer.alloc(100)), /end of central directory not found/);
  });
});

/** A torch.save-style archive built opcode by opcode: views with strides and offsets over shared storages. */
function buildCheckpoint(): { file: Buffer; storage0: Float32Array; storage1: Float64Array; half: number[] } {
  const storage0 = Float32Array.from([0.5, -1, 2.25, 3, -4.5, 5]);
  const storage1 = Float64Array.from([10, 11.5, 12, 13.25, 14]);
  // float16 bit patterns for 1, −2, 0.5 and 65504 (largest finite half).
  const halfBits = [0x3c00, 0xc000, 0x3800, 0x7bff];
  const half = [1, -2, 0.5, 65504];
  const w = new PickleWriter().proto();
  w.global('collections', 'OrderedDict').binput(0).emptyTuple().reduce().binput(1).mark();
  const tensor = (first: boolean, storageType: string, key: string, numel: number, offset: number, size: number[], stride: number[]): void => {
    if (first) w.global('torch._utils', '_rebuild_tensor_v2').binput(2);
    else w.binget(2);
    w.mark();
    w.mark().str('storage').global('torch', storageType).str(key).str('cpu').int(numel).tuple().binpersid();
    w.int(offset);
    w.mark();
    for (const s of size) w.int(s);
    w.tuple();
    w.mark();
    for (const s of stride) w.int(s);
    w.tuple();
    w.bool(false).binget(0).emptyTuple().reduce();
    w.tuple().reduce();
  };
  w.str('weight');
  tensor(true, 'FloatStorage', '0', 6, 0, [2, 3], [3, 1]);
  w.str('weight_t');
  tensor(false, 'FloatStorage', '0', 6, 0, [3, 2], [1, 3]);
  w.str('every_other');
  tensor(false, 'DoubleStorage', '1', 5, 1, [2], [2]);
  w.str('num_batches_tracked');
  tensor(false, 'LongStorage', '2', 1, 0, [], []);
  w.str('half');
  tensor(false, 'HalfStorage', '3', 4, 0, [4], [1]);
  w.setitems();
  // torch stores the module metadata through BUILD on the OrderedDict.
  w.emptyDict().str('_metadata').binget(0).emptyTuple().reduce().setitem().build().stop();
  const long = Buffer.alloc(8);
  long.writeBigInt64LE(123456789012n);
  const halfBuf = Buffer.alloc(8);
  halfBits.forEach((b, i) => halfBuf.writeUInt16LE(b, 2 * i));
  const file = writeZip([
    { name: 'archive/data.pkl', data: w.bytes() },
    { name: 'archive/data/0', data: Buffer.from(storage0.buffer) },
    { name: 'archive/data/1', data: Buffer.from(storage1.buffer), deflate: true },
    { name: 'archive/data/2', data: long },
    { name: 'archive/data/3', data: halfBuf },
    { name: 'archive/version', data: Buffer.from('3\n') },
  ]);
  return { file, storage0, storage1, half };
}

describe('torch checkpoint', () => {
  it('rebuilds tensors from storages, strides, offsets and dtypes', () => {
    const { file, storage0, storage1, half } = buildCheckpoint();
    const sd = parseTorchCheckpoint(file) as Map<string, { shape: number[]; data: Float32Array; dtype: string }>;
    assert.deepEqual([...sd.keys()], ['weight', 'weight_t', 'every_other', 'num_batches_tracked', 'half']);
    const wgt = sd.get('weight')!;
    assert.deepEqual(wgt.shape, [2, 3]);
    assert.deepEqual([...wgt.data], [...storage0]);
    const wt = sd.get('weight_t')!;
    assert.deepEqual(wt.shape, [3, 2]);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) assert.equal(wt.data[i * 2 + j], storage0[j * 3 + i]);
    assert.deepEqual([...sd.get('every_other')!.data], [storage1[1], storage1[3]]);
    const n = sd.get('num_batches_tracked')!;
    assert.equal(n.dtype, 'int64');
    assert.deepEqual(n.shape, []);
    assert.equal(n.data[0], Math.fround(123456789012));
    assert.deepEqual([...sd.get('half')!.data], half);
    assert.ok((sd as unknown as Record<symbol, unknown>)[PICKLE_STATE] instanceof Map, 'BUILD state kept aside');
  });

  it('rejects a view that runs past its storage', () => {
    const w = new PickleWriter().proto().global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(2).tuple().binpersid();
    w.int(1).int(2).tuple1().int(1).tuple1().bool(false).emptyDict().tuple().reduce().stop();
    const file = writeZip([
      { name: 't/data.pkl', data: w.bytes() },
      { name: 't/data/0', data: Buffer.alloc(8) },
    ]);
    assert.throws(() => parseTorchCheckpoint(file), /runs past its storage/);
  });

  it('reads the reference Glow state_dict with the keys and shapes its config implies', { skip: SKIP_NO_FIXTURES }, async () => {
    const sd = await readTorchStateDict(`${FIXTURES_DIR}glowmodel.pt`);
    // K=2, L=3: 2+2+1 flow steps with 14 tensors each.
    assert.equal(sd.size, 5 * 14);
    for (const [k, v] of sd) {
      assert.equal(v.dtype, 'float32', k);
      assert.equal(v.data.length, v.shape.reduce((a, b) => a * b, 1), k);
      assert.ok(v.data.every(Number.isFinite), `${k} finite`);
    }
    assert.deepEqual(sd.get('glow_modules.1.coupling.net.conv1.weight')!.shape, [512, 6, 3, 3]);
    assert.deepEqual(sd.get('glow_modules.9.invconv.W')!.shape, [48, 48, 1, 1]);
  });

  it('reads the reference DCGAN state_dict, int64 counters included', { skip: SKIP_NO_FIXTURES }, async () => {
    const sd = await readTorchStateDict(`${FIXTURES_DIR}dcgan_G.pt`);
    assert.deepEqual(sd.get('main.0.weight')!.shape, [100, 512, 4, 4]);
    assert.deepEqual(sd.get('main.12.weight')!.shape, [64, 3, 4, 4]);
    const counter = sd.get('main.1.num_batches_tracked')!;
    assert.equal(counter.dtype, 'int64');
    assert.ok(Number.isInteger(counter.data[0]) && counter.data[0]! >= 0);
    const variance = sd.get('main.1.running_var')!.data;
    assert.ok(variance.every((v) => v > 0), 'running variances are positive');
  });
});
