import type { MethodOptions } from '../methods/types.ts';
import type { ImageShape } from '../models/prior.ts';
import { ValidationError } from '../errors.ts';

/**
 * Options the baselines read beyond MethodOptions. A baseline has no model to tell it the image shape, and a
 * denoising problem carries no σ, so both can be passed here.
 */
export interface BaselineOptions extends MethodOptions {
  /** Shape of the unknown image; default 64×64×3 (the priors' working size). */
  imageShape?: ImageShape;
  /** bm3d: noise standard deviation on the [0,1] pixel scale; estimated from the measurements when absent. */
  noiseSigma?: number;
}

export const DEFAULT_IMAGE_SHAPE: ImageShape = [64, 64, 3];

export function imageShapeOf(options: MethodOptions): ImageShape {
  const shape = (options as BaselineOptions).imageShape ?? DEFAULT_IMAGE_SHAPE;
  if (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ValidationError('imageShape', `must be [height, width, channels] of positive integers, got ${JSON.stringify(shape)}`);
  }
  return shape;
}
