import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodePngLuminance, readPngHeader } from '../../src/physics/png.ts';
import { observedPixels } from '../../src/physics/mask.ts';
import { validateOperatorSpec } from '../../src/physics/registry.ts';
import { ValidationError } from '../../src/errors.ts';

const W = 13; // odd sizes exercise partial bytes (1-bit) and Adam7 passes of unequal size
const H = 11;

function pattern(): Uint8Array {
  const g = new Uint8Array(W * H);
  for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) g[r * W + c] = (r * 7 + c * 3) % 5 < 2 ? 0 : 255;
  return g;
}

async function encodings(): Promise<Record<string, Buffer>> {
  const gray = pattern();
  const rgb = new Uint8Array(W * H * 3);
  const rgba = new Uint8Array(W * H * 4);
  for (let p = 0; p < W * H; p++) {
    rgb.fill(gray[p]!, 3 * p, 3 * p + 3);
    rgba.fill(gray[p]!, 4 * p, 4 * p + 3);
    rgba[4 * p + 3] = 200;
  }
  const raw = (data: Uint8Array, channels: 1 | 3 | 4) => sharp(Buffer.from(data), { raw: { width: W, height: H, channels } });
  return {
    gray8: await raw(gray, 1).png().toBuffer(),
    rgb8: await raw(rgb, 3).png().toBuffer(),
    rgba8: await raw(rgba, 4).png().toBuffer(),
    palette: await raw(rgb, 3).png({ palette: true, colours: 2 }).toBuffer(),
    interlaced: await raw(rgb, 3).png({ progressive: true }).toBuffer(),
    interlacedGray: await raw(gray, 1).png({ progressive: true, compressionLevel: 0 }).toBuffer(),
    rgb16: await raw(rgb, 3).toColourspace('rgb16').png().toBuffer(),
  };
}

test('PNG luminance decoder agrees with sharp on every common encoding', async () => {
  const expected = pattern();
  const seen = new Set<string>();
  for (const [name, buf] of Object.entries(await encodings())) {
    const header = readPngHeader(buf);
    seen.add(`${header.colorType}/${header.bitDepth}/${header.interlace}`);
    const img = decodePngLuminance(buf);
    assert.equal(img.width, W, name);
    assert.equal(img.height, H, name);
    // and against sharp's own decode of the same bytes
    const ref = await sharp(buf).removeAlpha().greyscale().raw().toBuffer();
    for (let p = 0; p < W * H; p++) {
      assert.equal(img.data[p]! >= 0.5, expected[p]! >= 128, `${name} pixel ${p}`);
      assert.equal(img.data[p]! >= 0.5, ref[p]! >= 128, `${name} vs sharp pixel ${p}`);
    }
  }
  assert.ok(seen.size >= 5, `encodings covered: ${[...seen].join(' ')}`);
  assert.ok([...seen].some((s) => s.endsWith('/1')), 'an interlaced PNG was exercised');
  assert.ok([...seen].some((s) => s.includes('/16/')), 'a 16-bit PNG was exercised');
});

test('mask PNG: white observed, black missing; validation names the field', async () => {
  const png = (await encodings()).gray8.toString('base64');
  const obs = observedPixels({ type: 'mask', mask: png }, [H, W, 3]);
  const expected = pattern();
  for (let p = 0; p < W * H; p++) assert.equal(obs[p], expected[p]! >= 128 ? 1 : 0);
  validateOperatorSpec({ type: 'mask', mask: `data:image/png;base64,${png}` }, [H, W, 3]);
  assert.throws(
    () => validateOperatorSpec({ type: 'mask', mask: png }, [64, 64, 3]),
    (e: unknown) => e instanceof ValidationError && e.field === 'operator.mask' && /64×64/.test(e.message),
  );
  assert.throws(
    () => validateOperatorSpec({ type: 'mask', mask: 'not base64!' }, [H, W, 3]),
    (e: unknown) => e instanceof ValidationError && e.field === 'operator.mask',
  );
  assert.throws(
    () => validateOperatorSpec({ type: 'mask', mask: Buffer.from('GIF89a....').toString('base64') }, [H, W, 3]),
    (e: unknown) => e instanceof ValidationError && e.field === 'operator.mask' && /not a PNG/.test(e.message),
  );
});
