import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { LimitExceededError } from '../../errors.ts';
import type { ModelCatalog } from '../catalog.ts';
import type { ServiceConfig } from '../config.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { ResultStore } from '../storage/types.ts';
import { ApiKeyAuth } from './auth.ts';
import { mapError, MAX_PARAM_LENGTH, type ErrorBody } from './error_mapper.ts';
import { ServiceMetrics } from './metrics.ts';
import { physicsOperatorCatalog, type OperatorCatalog } from './operators.ts';
import { catalogRoutes } from './routes/catalog.ts';
import { jobRoutes } from './routes/jobs.ts';
import { opsRoutes } from './routes/ops.ts';
import { solveRoutes } from './routes/solve.ts';

export interface AppDeps {
  config: ServiceConfig;
  queue: JobQueue;
  store: ResultStore;
  catalog: ModelCatalog;
  operators?: OperatorCatalog;
  metrics?: ServiceMetrics;
  /** A pino logger; false for none (tests). */
  logger?: Logger | false;
  /** Shares rate-limit counters between API replicas; without it each process counts alone. */
  rateLimitRedis?: Redis;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Id of the API key (or "anonymous" without keys); set by the auth hook. */
    owner: string;
  }
  interface FastifyContextConfig {
    /** false: no API key needed (health, metrics, docs). */
    auth?: boolean;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Routes that need no key and are not rate limited: probes, metrics, docs, the autoscaler's queue depth. */
export const OPEN_ROUTE = { auth: false, rateLimit: false } as const;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const metrics = deps.metrics ?? new ServiceMetrics({ defaultMetrics: false });
  metrics.watchQueue(deps.queue);
  const operators = deps.operators ?? physicsOperatorCatalog;
  const auth = new ApiKeyAuth(config.apiKeys);
  if (config.mode !== 'standalone' && !auth.enabled) throw new Error('API keys are required outside standalone mode');

  // Every refusal, the router's own included (bad URL encoding, over-long path parameter), gets the same body.
  const sendError = (err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const m = mapError(err);
    if (m.internal) req.log.error({ err }, 'request failed');
    else req.log.info({ code: m.code, field: m.field, msg: m.message }, 'request rejected');
    if (m.status === 401) reply.header('www-authenticate', 'Bearer');
    reply.header('x-request-id', req.id);
    const body: ErrorBody = {
      error: { code: m.code, message: m.message, ...(m.field ? { field: m.field } : {}), ...(m.limit !== undefined ? { limit: m.limit } : {}) },
      requestId: String(req.id),
    };
    return reply.status(m.status).send(body);
  };

  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    maxParamLength: MAX_PARAM_LENGTH,
    frameworkErrors: (err, req, reply) => sendError(err, req, reply),
    bodyLimit: config.bodyLimitBytes,
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && REQUEST_ID.test(h) ? h : randomUUID();
    },
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: false }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // JSON only: every other content type is answered 415.
  app.removeContentTypeParser(['text/plain']);
  app.decorateRequest('owner', '');
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    if (req.routeOptions.config?.auth === false || !req.routeOptions.url) {
      req.owner = 'open';
      return;
    }
    req.owner = auth.authenticate(req.headers.authorization);
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.httpDuration.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler(sendError);
  app.setNotFoundHandler((req, reply) => {
    const body: ErrorBody = {
      error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0].slice(0, 200)}` },
      requestId: String(req.id),
    };
    return reply.status(404).send(body);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'flowprior',
        version: '0.1.0',
        description:
          'Solve imaging inverse problems (compressive sensing, denoising, inpainting, super-resolution, deblurring) with an ' +
          'invertible generative prior (Glow) or a baseline. Submit a job, poll it, fetch the PNG and metrics.',
      },
      components: {
        securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' } },
        // The operator specs as the physics registry defines them (for 64×64×3 images), for client generators.
        schemas: {
          ...Object.fromEntries(Object.entries(operators.schemas([64, 64, 3])).map(([type, schema]) => [`Operator_${type}`, schema as object])),
          Noise: operators.noiseSchema() as object,
        },
      },
      security: [{ apiKey: [] }],
      tags: [
        { name: 'jobs', description: 'submit, poll, fetch, cancel' },
        { name: 'catalog', description: 'models, methods, operators' },
        { name: 'operations', description: 'health, readiness, metrics, queue depth' },
      ],
    },
  });
  app.addHook('onRoute', (route) => {
    // Swagger UI's own routes are public documentation.
    if (route.url.startsWith('/docs')) route.config = { ...(route.config ?? {}), ...OPEN_ROUTE };
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });

  await app.register(rateLimit, {
    global: true,
    hook: 'preParsing',
    max: config.rateLimitPerMin,
    timeWindow: 60_000,
    keyGenerator: (req: FastifyRequest) => (req.owner && req.owner !== 'open' && req.owner !== 'anonymous' ? `key:${req.owner}` : `ip:${req.ip}`),
    ...(deps.rateLimitRedis ? { redis: deps.rateLimitRedis, nameSpace: `${config.queueName}-ratelimit-`, skipOnError: true } : {}),
    errorResponseBuilder: (_req, ctx) =>
      new LimitExceededError(`rate limit of ${ctx.max} requests per minute exceeded; retry in ${ctx.after}`, ctx.max),
  });

  const ctx = { config, queue: deps.queue, store: deps.store, catalog: deps.catalog, operators, metrics };
  await app.register(solveRoutes, ctx);
  await app.register(jobRoutes, ctx);
  await app.register(catalogRoutes, ctx);
  await app.register(opsRoutes, ctx);
  return app as unknown as FastifyInstance;
}

export interface RouteContext {
  config: ServiceConfig;
  queue: JobQueue;
  store: ResultStore;
  catalog: ModelCatalog;
  operators: OperatorCatalog;
  metrics: ServiceMetrics;
}
