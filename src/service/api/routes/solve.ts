import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteContext } from '../app.ts';
import { SolveRequestSchema, SubmitResponseSchema, errorResponses } from '../schemas.ts';
import { submitSolve } from '../submit.ts';

export function jobLinks(id: string) {
  const base = `/v1/jobs/${id}`;
  return { self: base, result: `${base}/result.png`, panel: `${base}/panel.png`, metrics: `${base}/metrics.json` };
}

export const solveRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, ctx) => {
  app.post(
    '/v1/solve',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Submit an inverse problem',
        description:
          'Validates the request against the schema, the model and the operator, stores the input and queues a job. ' +
          'Poll GET /v1/jobs/{id} until it is completed, then fetch result.png, panel.png and metrics.json.',
        body: SolveRequestSchema,
        response: { 200: SubmitResponseSchema, 202: SubmitResponseSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const out = await submitSolve(req.body, {
        config: ctx.config,
        catalog: ctx.catalog,
        operators: ctx.operators,
        queue: ctx.queue,
        store: ctx.store,
        owner: req.owner,
        requestId: String(req.id),
      });
      if (out.created) {
        ctx.metrics.jobsSubmitted.inc({ method: out.method });
        req.log.info({ jobId: out.jobId, method: out.method }, 'job queued');
      }
      return reply.status(out.created ? 202 : 200).send({
        jobId: out.jobId,
        status: out.status,
        created: out.created,
        links: jobLinks(out.jobId),
        note: out.note,
      });
    },
  );
};
