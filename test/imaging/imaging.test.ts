import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodeImage, decodeImageTo, encodePng, composePanel, encodePanelPng, resampleNearest, toUint8 } from '../../src/imaging/index.ts';
import { PayloadTooLargeError, ValidationError } from '../../src/errors.ts';

function randomImage(width: number, height: number, channels: number, seed = 1) {
  let s = seed;
  const data = new Float32Array(width * height * channels);
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = s / 2147483648;
  }
  return { data, width, height, channels };
}

test('PNG encode → decode returns the 8-bit quantised pixels exactly', async () => {
  const img = randomImage(17, 9, 3);
  const png = await encodePng(img);
  const back = await decodeImage(png);
  assert.equal(back.format, 'png');
  assert.deepEqual([back.width, back.height, back.channels], [17, 9, 3]);
  const q = toUint8(img.data);
  for (let i = 0; i < q.length; i++) assert.equal(Math.round(back.data[i] * 255), q[i]);
  let maxErr = 0;
  for (let i = 0; i < q.length; i++) maxErr = Math.max(maxErr, Math.abs(back.data[i] - img.data[i]));
  assert.ok(maxErr <= 0.5 / 255 + 1e-7, `quantisation error ${maxErr}`);
});

test('encode clips to [0,1] and maps NaN to 0', () => {
  assert.deepEqual([...toUint8(new Float32Array([-1, 0, 0.5, 1, 2, NaN]))], [0, 0, 128, 255, 255, 0]);
});

test('JPEG decodes close to the source; grey and alpha inputs become RGB', async () => {
  const flat = new Uint8Array(32 * 32 * 3).fill(100);
  const jpg = await sharp(flat, { raw: { width: 32, height: 32, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
  const d = await decodeImage(jpg);
  assert.equal(d.format, 'jpeg');
  for (const v of d.data) assert.ok(Math.abs(v * 255 - 100) <= 2);

  const grey = await sharp(new Uint8Array(8 * 8).fill(200), { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer();
  const g = await decodeImage(grey);
  assert.equal(g.channels, 3);
  assert.equal(g.data.length, 8 * 8 * 3);
  for (const v of g.data) assert.equal(Math.round(v * 255), 200);

  const rgba = new Uint8Array(4 * 4 * 4);
  for (let i = 0; i < 16; i++) rgba.set([255, 255, 255, i < 8 ? 0 : 255], i * 4);
  const a = await decodeImage(await sharp(rgba, { raw: { width: 4, height: 4, channels: 4 } }).png().toBuffer());
  assert.equal(a.channels, 3);
  assert.equal(a.data[0], 0, 'transparent pixels are composited on black');
  assert.equal(a.data[15 * 3], 1);
});

test('bad inputs fail with a ValidationError naming the field', async () => {
  const png = await encodePng(randomImage(16, 16, 3));
  const cases: Array<[string, Uint8Array]> = [
    ['empty', new Uint8Array(0)],
    ['text', Buffer.from('hello, not an image')],
    ['truncated', png.subarray(0, Math.floor(png.length / 2))],
    ['header only', png.subarray(0, 40)],
  ];
  for (const [name, bytes] of cases) {
    await assert.rejects(decodeImage(bytes, { field: 'groundTruth' }), (e: unknown) => {
      assert.ok(e instanceof ValidationError, `${name}: ${String(e)}`);
      assert.equal(e.field, 'groundTruth');
      return true;
    });
  }
  const gif = await sharp(new Uint8Array(4 * 4 * 3), { raw: { width: 4, height: 4, channels: 3 } }).gif().toBuffer();
  await assert.rejects(decodeImage(gif, { field: 'groundTruth' }), /unsupported image format gif/);
});

test('byte and pixel limits: large files are refused, a decompression bomb is refused from its header', async () => {
  const png = await encodePng(randomImage(64, 64, 3));
  await assert.rejects(decodeImage(png, { limits: { maxInputBytes: 100, maxPixels: 1e6 }, field: 'groundTruth' }), (e: unknown) => {
    assert.ok(e instanceof PayloadTooLargeError);
    assert.equal(e.field, 'groundTruth');
    assert.equal(e.limit, 100);
    return true;
  });
  // 8000×8000 of one colour compresses to a few hundred kilobytes but would decode to 192 MB.
  const bomb = await sharp({ create: { width: 8000, height: 8000, channels: 3, background: '#808080' } }).png({ compressionLevel: 9 }).toBuffer();
  assert.ok(bomb.length < 1_000_000, `bomb is ${bomb.length} bytes`);
  await assert.rejects(decodeImage(bomb, { limits: { maxInputBytes: 2_000_000, maxPixels: 1_000_000 } }), (e: unknown) => {
    assert.ok(e instanceof ValidationError);
    assert.match(e.message, /8000×8000 pixels exceeds the limit of 1000000 pixels/);
    return true;
  });
});

test('decodeImageTo scales to cover and centre-crops, with a note', async () => {
  // 128×64: left 32 columns red, middle 64 green, right 32 blue → the 64×64 centre is pure green.
  const w = 128, h = 64;
  const raw = new Uint8Array(w * h * 3);
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) raw[(r * w + c) * 3 + (c < 32 ? 0 : c < 96 ? 1 : 2)] = 255;
  const png = await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
  const { image, note, original } = await decodeImageTo(png, 64, 64);
  assert.deepEqual(original, { width: 128, height: 64 });
  assert.match(note ?? '', /resized from 128×64 to 64×64 \(scale 1\.00, centre-cropped\)/);
  // Columns 4..59 are well inside the green band (the resampling kernel may blend the outermost columns).
  for (let r = 0; r < 64; r++) for (let c = 4; c < 60; c++) {
    const i = (r * 64 + c) * 3;
    assert.deepEqual([image.data[i], image.data[i + 1], image.data[i + 2]], [0, 1, 0], `pixel ${r},${c}`);
  }
  const same = await decodeImageTo(await encodePng(randomImage(64, 64, 3)), 64, 64);
  assert.equal(same.note, null);
  const down = await decodeImageTo(await encodePng(randomImage(256, 256, 3)), 64, 64);
  assert.match(down.note ?? '', /scale 0\.250\)$/);
  assert.equal(down.image.data.length, 64 * 64 * 3);
});

test('panel: tiles side by side with 2 px gaps, other sizes scaled nearest, grey replicated', async () => {
  const a = randomImage(64, 64, 3, 3);
  const small = randomImage(32, 32, 3, 5);
  const grey = randomImage(16, 16, 1, 7);
  const p = composePanel([a, small, grey]);
  assert.deepEqual([p.width, p.height, p.channels], [64 * 3 + 4, 64, 3]);
  const px = (r: number, c: number) => Array.from(p.data.subarray((r * p.width + c) * 3, (r * p.width + c) * 3 + 3));
  for (let r = 0; r < 64; r += 7) {
    for (let c = 0; c < 64; c += 5) {
      assert.deepEqual(px(r, c), Array.from(a.data.subarray((r * 64 + c) * 3, (r * 64 + c) * 3 + 3)));
      const s = ((r >> 1) * 32 + (c >> 1)) * 3;
      assert.deepEqual(px(r, 66 + c), Array.from(small.data.subarray(s, s + 3)));
      const g = grey.data[(r >> 2) * 16 + (c >> 2)];
      assert.deepEqual(px(r, 132 + c), [g, g, g]);
    }
    assert.deepEqual([...px(r, 64), ...px(r, 65), ...px(r, 130), ...px(r, 131)], new Array(12).fill(1));
  }
  const up = resampleNearest(randomImage(100, 50, 3), 64, 64);
  assert.equal(up.data.length, 64 * 64 * 3);
  const png = await encodePanelPng([a, small]);
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', 130, 64]);
});
