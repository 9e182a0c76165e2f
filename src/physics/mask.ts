// Inpainting: y = the observed pixels' values (all channels of each observed pixel, in HWC order), m = #observed
// values. Missing pixels are the union of a box, a seeded random fraction of pixels, and the black pixels of a
// mask PNG.
import { tf } from '../engine/index.ts';
import type * as tfType from '@tensorflow/tfjs';
import type { ImageShape } from '../models/prior.ts';
import { ValidationError } from '../errors.ts';
import { Rng, sampleWithoutReplacement, Stream } from '../util/random.ts';
import {
  checkBatch,
  FIELD,
  imageSize,
  rejectUnknownKeys,
  requireInteger,
  requireNumber,
  SEED_MAX,
  withAdjointGradient,
} from './common.ts';
import type { OperatorDefinition } from './definition.ts';
import type { LinearOperator } from './operator.ts';
import { decodePngLuminance, PngError, readPngHeader } from './png.ts';

type MaskSpec = {
  type: 'mask';
  box?: [row: number, col: number, height: number, width: number];
  fraction?: number;
  seed?: number;
  mask?: string;
};

const MAX_MASK_BASE64 = 4 * 1024 * 1024;

function maskBytes(mask: string): Uint8Array {
  const body = mask.replace(/^data:image\/png;base64,/, '').replace(/\s+/g, '');
  if (body.length > MAX_MASK_BASE64) {
    throw new ValidationError(`${FIELD}.mask`, `at most ${MAX_MASK_BASE64} base64 characters`);
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 === 1) {
    throw new ValidationError(`${FIELD}.mask`, 'must be base64 (a PNG image)');
  }
  return Buffer.from(body, 'base64');
}

/**
 * 1 = observed, 0 = missing, per pixel (row-major H·W). The random part removes exactly round(fraction·H·W)
 * pixels: the first ones drawn by a partial Fisher–Yates shuffle on the (seed, mask) stream.
 */
export function observedPixels(spec: MaskSpec, imageShape: ImageShape): Uint8Array {
  const [h, w] = imageShape;
  const observed = new Uint8Array(h * w).fill(1);
  if (spec.box) {
    const [r0, c0, bh, bw] = spec.box;
    for (let r = r0; r < r0 + bh; r++) observed.fill(0, r * w + c0, r * w + c0 + bw);
  }
  if (spec.fraction !== undefined && spec.fraction > 0) {
    const count = Math.round(spec.fraction * h * w);
    for (const p of sampleWithoutReplacement(h * w, count, new Rng(spec.seed ?? 0, Stream.mask))) observed[p] = 0;
  }
  if (spec.mask !== undefined) {
    const img = decodePngLuminance(maskBytes(spec.mask));
    for (let p = 0; p < h * w; p++) if ((img.data[p] as number) < 0.5) observed[p] = 0;
  }
  return observed;
}

class MaskOperator implements LinearOperator {
  readonly n: number;
  readonly m: number;
  private readonly channels: number;
  /** Flat HWC indices of the observed values, increasing. */
  private readonly observedIndex: Int32Array;
  private readonly gatherIndex: tfType.Tensor1D;
  /** For each image value: its position in y, or m (a zero column appended to y) when missing. */
  private readonly scatterIndex: tfType.Tensor1D;
  readonly apply: (x: tfType.Tensor2D) => tfType.Tensor2D;

  constructor(
    readonly spec: MaskSpec,
    readonly imageShape: ImageShape,
  ) {
    this.n = imageSize(imageShape);
    this.channels = imageShape[2];
    const observed = observedPixels(spec, imageShape);
    const index: number[] = [];
    const inverse = new Int32Array(this.n);
    for (let p = 0; p < observed.length; p++) {
      for (let c = 0; c < this.channels; c++) {
        const j = p * this.channels + c;
        inverse[j] = observed[p] ? index.length : -1;
        if (observed[p]) index.push(j);
      }
    }
    this.m = index.length;
    for (let j = 0; j < this.n; j++) if (inverse[j] === -1) inverse[j] = this.m;
    this.observedIndex = Int32Array.from(index);
    this.gatherIndex = tf.tensor1d(this.observedIndex, 'int32');
    this.scatterIndex = tf.tensor1d(inverse, 'int32');
    const forward = (x: tfType.Tensor2D): tfType.Tensor2D => {
      checkBatch(x, this.n, 'mask.apply');
      return tf.gather(x, this.gatherIndex, 1);
    };
    // Gather's own gradient needs a scatter kernel the wasm backend lacks; the adjoint is another gather.
    this.apply = withAdjointGradient(forward, (y) => this.adjoint(y));
  }

  adjoint(y: tfType.Tensor2D): tfType.Tensor2D {
    checkBatch(y, this.m, 'mask.adjoint');
    return tf.tidy(() => tf.gather(tf.concat([y, tf.zeros([y.shape[0], 1])], 1), this.scatterIndex, 1) as tfType.Tensor2D);
  }

  view(y: Float32Array): { data: Float32Array; shape: ImageShape } {
    const data = new Float32Array(this.n);
    this.observedIndex.forEach((j, i) => {
      const v = y[i] as number;
      data[j] = v > 1 ? 1 : v > 0 ? v : 0;
    });
    return { data, shape: this.imageShape };
  }

  dispose(): void {
    this.gatherIndex.dispose();
    this.scatterIndex.dispose();
  }
}

export const maskOperator: OperatorDefinition<MaskSpec> = {
  type: 'mask',
  description:
    'Inpainting: keeps the observed pixels. Missing = box ∪ random fraction (seeded) ∪ black pixels of a mask PNG.',
  jsonSchema: (imageShape) => ({
    type: 'object',
    description:
      'Inpainting. y holds the observed pixels (all channels, HWC order). Missing pixels: the union of `box`, ' +
      'a random `fraction` of pixels drawn with `seed`, and the black (luminance < 0.5) pixels of `mask`. ' +
      'At least one of box, fraction, mask is required.',
    properties: {
      type: { const: 'mask' },
      box: {
        type: 'array',
        description: 'missing rectangle [row, col, height, width] (the paper: [22, 22, 19, 19])',
        items: { type: 'integer', minimum: 0 },
        minItems: 4,
        maxItems: 4,
      },
      fraction: { type: 'number', minimum: 0, exclusiveMaximum: 1, description: 'fraction of pixels removed at random' },
      seed: { type: 'integer', minimum: 0, maximum: SEED_MAX, default: 0, description: 'seed of the random pixels' },
      mask: {
        type: 'string',
        contentEncoding: 'base64',
        contentMediaType: 'image/png',
        maxLength: MAX_MASK_BASE64,
        description: imageShape
          ? `PNG of ${imageShape[1]}×${imageShape[0]} pixels, white = observed, black = missing`
          : 'PNG of the image size, white = observed, black = missing',
      },
    },
    required: ['type'],
    anyOf: [{ required: ['box'] }, { required: ['fraction'] }, { required: ['mask'] }],
    additionalProperties: false,
  }),
  validate(spec, imageShape) {
    rejectUnknownKeys(spec, ['type', 'box', 'fraction', 'seed', 'mask']);
    const [h, w] = imageShape;
    if (spec.box === undefined && spec.fraction === undefined && spec.mask === undefined) {
      throw new ValidationError(`${FIELD}.box`, 'a mask operator needs at least one of box, fraction, mask');
    }
    if (spec.box !== undefined) {
      if (!Array.isArray(spec.box) || spec.box.length !== 4) {
        throw new ValidationError(`${FIELD}.box`, 'must be [row, col, height, width]');
      }
      const row = requireInteger(spec.box[0], `${FIELD}.box[0]`, 0, h - 1);
      const col = requireInteger(spec.box[1], `${FIELD}.box[1]`, 0, w - 1);
      requireInteger(spec.box[2], `${FIELD}.box[2]`, 1, h - row);
      requireInteger(spec.box[3], `${FIELD}.box[3]`, 1, w - col);
    }
    if (spec.fraction !== undefined) {
      requireNumber(spec.fraction, `${FIELD}.fraction`, 0, 1);
      if (spec.fraction >= 1) throw new ValidationError(`${FIELD}.fraction`, 'must be less than 1');
    }
    if (spec.seed !== undefined) requireInteger(spec.seed, `${FIELD}.seed`, 0, SEED_MAX);
    if (spec.mask !== undefined) {
      if (typeof spec.mask !== 'string') throw new ValidationError(`${FIELD}.mask`, 'must be a base64 string');
      const bytes = maskBytes(spec.mask);
      try {
        const header = readPngHeader(bytes);
        if (header.width !== w || header.height !== h) {
          throw new ValidationError(`${FIELD}.mask`, `must be ${w}×${h} pixels, got ${header.width}×${header.height}`);
        }
        decodePngLuminance(bytes);
      } catch (err) {
        if (err instanceof PngError) throw new ValidationError(`${FIELD}.mask`, err.message);
        throw err;
      }
    }
    const observed = observedPixels(spec, imageShape);
    if (!observed.includes(1)) throw new ValidationError(`${FIELD}`, 'the mask removes every pixel (m would be 0)');
  },
  create: (spec, imageShape) => new MaskOperator(spec, imageShape),
};
