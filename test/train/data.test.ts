import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { BatchOrder, dequantizeBatch, scaledBatch } from '../../src/train/batches.ts';
import { ImageFolderError, loadImageFolder, type ImageSet } from '../../src/train/image_folder.ts';
import { epochPermutation, TrainRandom } from '../../src/train/rng.ts';
import { tempDir, writeFixtureImages } from './helpers.ts';

let tmp: Awaited<ReturnType<typeof tempDir>>;
before(async () => {
  tmp = await tempDir('train-data');
});
after(async () => tmp.cleanup());

function syntheticSet(count: number, size: number): ImageSet {
  const data = new Uint8Array(count * size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + 11) % 256;
  return { data, count, height: size, width: size, channels: 3, names: [] };
}

describe('training RNG', () => {
  it('continues the same sequence after its state is saved and restored (including a pending normal)', () => {
    const a = new TrainRandom(42);
    for (let i = 0; i < 17; i++) a.next();
    a.normal(); // leaves the second Box–Muller value pending
    const saved = JSON.parse(JSON.stringify(a.getState()));
    const expected = [a.normal(), a.next(), a.normal(), a.normal()];
    const b = TrainRandom.fromState(saved);
    assert.deepEqual([b.normal(), b.next(), b.normal(), b.normal()], expected);
  });

  it('epoch permutations are permutations, reproducible, and differ between epochs and seeds', () => {
    const p = epochPermutation(50, 3, 2);
    assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual(p, epochPermutation(50, 3, 2));
    assert.notDeepEqual(p, epochPermutation(50, 3, 3));
    assert.notDeepEqual(p, epochPermutation(50, 4, 2));
  });
});

describe('batch order', () => {
  it('visits every image at most once per epoch, drops the remainder, and resumes from a saved position', () => {
    const order = new BatchOrder(10, 5);
    const e0 = [...order.next(4), ...order.next(4)];
    assert.equal(new Set(e0).size, 8);
    assert.deepEqual(order.position, { epoch: 0, pos: 8 });
    const saved = { ...order.position };
    const next = order.next(4); // only 2 left: a new epoch starts
    assert.deepEqual(order.position, { epoch: 1, pos: 4 });
    assert.deepEqual([...next], [...epochPermutation(10, 5, 1).slice(0, 4)]);
    const resumed = new BatchOrder(10, 5, saved);
    assert.deepEqual(resumed.next(4), next);
    assert.deepEqual(resumed.next(4), order.next(4));
  });
});

describe('dequantisation', () => {
  it('maps v to ⌊v/8⌋/32 + U[0, 1/32) − 0.5 with the noise drawn from the given RNG', () => {
    const set = syntheticSet(3, 4);
    const x = dequantizeBatch(set, [2, 0], 5, new TrainRandom(9));
    const per = 4 * 4 * 3;
    const rng = new TrainRandom(9);
    [2, 0].forEach((img, b) => {
      for (let i = 0; i < per; i++) {
        const k = Math.floor(set.data[img * per + i]! / 8);
        const v = x[b * per + i]!;
        assert.ok(v >= k / 32 - 0.5 - 1e-7 && v < (k + 1) / 32 - 0.5 + 1e-7, `value ${v} outside bin ${k}`);
        assert.equal(v, Math.fround((k + rng.next()) / 32 - 0.5));
      }
    });
  });

  it('flips mirror whole rows, one coin per image after the noise', () => {
    const set = syntheticSet(4, 6);
    const plain = dequantizeBatch(set, [0, 1, 2, 3], 8, new TrainRandom(1));
    const flipped = dequantizeBatch(set, [0, 1, 2, 3], 8, new TrainRandom(1), { flip: true });
    const rng = new TrainRandom(1);
    for (let i = 0; i < 4 * 6 * 6 * 3; i++) rng.next();
    const coins = [0, 1, 2, 3].map(() => rng.next() < 0.5);
    assert.ok(coins.includes(true), 'seed gives at least one flip');
    const per = 6 * 6 * 3;
    coins.forEach((flip, b) => {
      for (let r = 0; r < 6; r++) {
        for (let c = 0; c < 6; c++) {
          for (let ch = 0; ch < 3; ch++) {
            const src = b * per + (r * 6 + (flip ? 5 - c : c)) * 3 + ch;
            assert.equal(flipped[b * per + (r * 6 + c) * 3 + ch], plain[src]);
          }
        }
      }
    });
  });

  it('scales 8-bit images to [−1, 1] for the DCGAN', () => {
    const set = syntheticSet(1, 2);
    const x = scaledBatch(set, [0], new TrainRandom(0));
    x.forEach((v, i) => assert.equal(v, Math.fround(set.data[i]! / 127.5 - 1)));
  });
});

describe('image folder', () => {
  it('loads the PNGs of a folder in name order, exactly', async () => {
    const dir = join(tmp.path, 'imgs');
    await writeFixtureImages(dir, 5, 8, 3);
    await writeFile(join(dir, 'notes.txt'), 'not an image');
    const set = await loadImageFolder(dir, { limit: 4 });
    assert.deepEqual([set.count, set.height, set.width, set.channels], [4, 8, 8, 3]);
    assert.deepEqual(set.names, ['img000.png', 'img001.png', 'img002.png', 'img003.png']);
    const raw = await sharp(join(dir, 'img002.png')).raw().toBuffer();
    assert.deepEqual(set.data.subarray(2 * 192, 3 * 192), new Uint8Array(raw));
  });

  it('rejects folders with mixed sizes or no images', async () => {
    const dir = join(tmp.path, 'mixed');
    await writeFixtureImages(dir, 2, 8, 4);
    await sharp(new Uint8Array(16 * 16 * 3), { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(join(dir, 'z.png'));
    await assert.rejects(loadImageFolder(dir), (e: Error) => e instanceof ImageFolderError && /one size/.test(e.message));
    await assert.rejects(loadImageFolder(join(tmp.path, 'missing')), ImageFolderError);
  });
});
