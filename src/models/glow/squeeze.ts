import { tf } from '../../engine/index.ts';
import type { SqueezeVariant } from './config.ts';

/**
 * Space-to-channel squeeze on NHWC tensors, with the reference's channel order (NCHW index 4c + q):
 * - 'spatial': q = 2·dy + dx over each 2×2 block;
 * - 'legacy2019': the reference's 2019 NCHW buffer reinterpretation,
 *   out[n, 4c+q, i, j] = in[n, c, q·H/4 + ⌊i/2⌋, (i mod 2)·W/2 + j].
 * Reshape + transpose only (tfjs has no gradient for depthToSpace/spaceToDepth).
 */
export function squeeze(x: tf.Tensor4D, variant: SqueezeVariant): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (variant === 'spatial') {
    const t = tf.transpose(tf.reshape(x, [n, h / 2, 2, w / 2, 2, c]), [0, 1, 3, 5, 2, 4]);
    return tf.reshape(t, [n, h / 2, w / 2, 4 * c]);
  }
  // [n, q, i', p, j, c] → [n, i', p, j, c, q] with i = 2i' + p.
  const t = tf.transpose(tf.reshape(x, [n, 4, h / 4, 2, w / 2, c]), [0, 2, 3, 4, 5, 1]);
  return tf.reshape(t, [n, h / 2, w / 2, 4 * c]);
}

export function unsqueeze(x: tf.Tensor4D, variant: SqueezeVariant): tf.Tensor4D {
  const [n, h, w, c4] = x.shape;
  const c = c4 / 4;
  if (variant === 'spatial') {
    const t = tf.transpose(tf.reshape(x, [n, h, w, c, 2, 2]), [0, 1, 4, 2, 5, 3]);
    return tf.reshape(t, [n, 2 * h, 2 * w, c]);
  }
  const t = tf.transpose(tf.reshape(x, [n, h / 2, 2, w, c, 4]), [0, 5, 1, 2, 3, 4]);
  return tf.reshape(t, [n, 2 * h, 2 * w, c]);
}

/** NHWC latent block → [B, C·H·W] in the reference's channel-major order. */
export function flattenChannelMajor(x: tf.Tensor4D): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n, c * h * w]);
}

/** [B, C·H·W] channel-major → NHWC [B, H, W, C]. */
export function unflattenChannelMajor(z: tf.Tensor2D, c: number, h: number, w: number): tf.Tensor4D {
  return tf.transpose(tf.reshape(z, [z.shape[0], c, h, w]), [0, 2, 3, 1]);
}
