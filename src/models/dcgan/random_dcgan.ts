import { tf } from '../../engine/index.ts';
import { SeededRandom } from '../random.ts';
import { dcganConfig, dcganParamShapes, type DcganConfig } from './config.ts';
import { DcganGenerator, type DcganParams } from './generator.ts';

/** DCGAN weights as the reference initialises them (N(0, 0.02) kernels, N(1, 0.02) BN scales) plus random running statistics. */
export function randomDcganParams(config: DcganConfig, seed = 0): DcganParams {
  const rng = new SeededRandom(seed);
  const out: DcganParams = {};
  for (const [name, shape] of dcganParamShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name.endsWith('.kernel')) data = rng.normals(n, 0.02);
    else if (name.endsWith('.gamma')) data = rng.normals(n, 0.02).map((v) => 1 + v);
    else if (name.endsWith('.beta')) data = rng.normals(n, 0.02);
    else if (name.endsWith('.mean')) data = rng.normals(n, 0.01);
    else data = rng.uniforms(n, 0.5, 1.5).map((v) => v * v * 0.01);
    out[name] = tf.tensor(data, shape, 'float32');
  }
  return out;
}

export function createRandomDcgan(seed = 0, ngf = 64, opts: { latentDim?: number; name?: string } = {}): DcganGenerator {
  const config = dcganConfig({ ngf, latentDim: opts.latentDim ?? 100 });
  return new DcganGenerator(config, randomDcganParams(config, seed), { name: opts.name ?? `random-dcgan-${seed}` });
}
