import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteContext } from '../app.ts';
import { OPEN_ROUTE } from '../app.ts';
import { HealthSchema, QueueResponseSchema, ReadySchema, errorResponses } from '../schemas.ts';

const READY_TIMEOUT_MS = 3000;

async function check(f: () => Promise<void>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      f(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      }),
    ]);
    return 'ok';
  } catch (e) {
    return `error: ${(e as Error).message}`.slice(0, 300);
  } finally {
    clearTimeout(timer);
  }
}

export const opsRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, ctx) => {
  app.get(
    '/healthz',
    { config: OPEN_ROUTE, schema: { tags: ['operations'], summary: 'Liveness', security: [], response: { 200: HealthSchema } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: OPEN_ROUTE,
      schema: {
        tags: ['operations'],
        summary: 'Readiness: the queue (Redis) and the result store answer',
        security: [],
        response: { 200: ReadySchema, 503: ReadySchema },
      },
    },
    async (_req, reply) => {
      const [queue, storage] = await Promise.all([check(() => ctx.queue.ping()), check(() => ctx.store.ping())]);
      const ok = queue === 'ok' && storage === 'ok';
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', checks: { queue, storage } });
    },
  );

  app.get(
    '/metrics',
    {
      config: OPEN_ROUTE,
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics',
        security: [],
        response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    async (_req, reply) => {
      const body = await ctx.metrics.registry.metrics();
      return reply.header('content-type', ctx.metrics.registry.contentType).send(body);
    },
  );

  app.get(
    '/v1/queue',
    {
      config: OPEN_ROUTE,
      schema: {
        tags: ['operations'],
        summary: 'Queue depth by state (for a KEDA metrics-api scaler: valueLocation "total")',
        security: [],
        response: { 200: QueueResponseSchema, ...errorResponses },
      },
    },
    async () => {
      const c = await ctx.queue.counts();
      return { ...c, total: c.waiting + c.prioritized + c.active };
    },
  );
};
