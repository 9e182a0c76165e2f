import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ValidationError } from '../../../errors.ts';
import { METHOD_NAMES, MODEL_METHODS, type MethodName } from '../../../methods/types.ts';
import type { RouteContext } from '../app.ts';
import { MethodSchema, ModelSchema, errorResponses } from '../schemas.ts';
import { BASELINE_IMAGE_SHAPE } from '../submit.ts';

const DESCRIPTIONS: Record<MethodName, string> = {
  glow: 'Glow prior (Asim et al. 2020): min_z ‖A·G(z) − y‖² + γ·‖z‖ from z₀ = 0, L-BFGS; no representation error',
  dcgan: 'DCGAN prior (Bora et al. 2017): the same objective over a 100-dim latent, random restarts',
  'lasso-dct': 'Lasso in a 2-D DCT basis per colour channel: min_c ‖y − A·Ψc‖² + λ‖c‖₁ (FISTA)',
  'lasso-wvt': 'Lasso in a full-depth Haar wavelet basis (FISTA)',
  bm3d: 'BM3D denoising (identity operator only)',
};

export const catalogRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, ctx) => {
  app.get(
    '/v1/models',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Models available to glow and dcgan',
        response: { 200: Type.Object({ models: Type.Array(ModelSchema) }), ...errorResponses },
      },
    },
    async () => ({ models: await ctx.catalog.list() }),
  );

  app.get(
    '/v1/methods',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Reconstruction methods',
        response: { 200: Type.Object({ methods: Type.Array(MethodSchema) }), ...errorResponses },
      },
    },
    async () => {
      const all = Object.keys(ctx.operators.schemas());
      return {
        methods: METHOD_NAMES.map((name) => ({
          name,
          kind: MODEL_METHODS.includes(name) ? ('prior' as const) : ('baseline' as const),
          model: ctx.catalog.defaultFor(name),
          description: DESCRIPTIONS[name],
          operators: name === 'bm3d' ? ['identity'] : all,
        })),
      };
    },
  );

  app.get(
    '/v1/operators',
    {
      schema: {
        tags: ['catalog'],
        summary: 'JSON Schemas of the operator and noise specs',
        description: 'Shape-dependent limits (m ≤ n, box inside the image) are filled in for the named model’s image size (default 64×64×3).',
        querystring: Type.Object(
          { model: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            imageShape: Type.Array(Type.Integer()),
            operators: Type.Record(Type.String(), Type.Unknown()),
            noise: Type.Unknown(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      let shape: [number, number, number] = BASELINE_IMAGE_SHAPE;
      if (req.query.model) {
        const info = await ctx.catalog.get(req.query.model);
        if (!info) throw new ValidationError('querystring.model', `unknown model ${JSON.stringify(req.query.model)}`);
        shape = info.imageShape;
      }
      return { imageShape: shape, operators: ctx.operators.schemas(shape), noise: ctx.operators.noiseSchema() };
    },
  );
};
