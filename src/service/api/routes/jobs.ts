import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ConflictError, NotFoundError } from '../../../errors.ts';
import type { JobStatus } from '../../jobs/model.ts';
import { RESULT_FILES, resultKey, type ResultFile } from '../../storage/keys.ts';
import type { RouteContext } from '../app.ts';
import { CancelResponseSchema, FileQuerySchema, JobParamsSchema, JobResponseSchema, errorResponses } from '../schemas.ts';
import { jobLinks } from './solve.ts';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export const jobRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, ctx) => {
  /** The job if it exists and belongs to the caller; another key's job is "not found", not "forbidden". */
  async function ownJob(id: string, owner: string): Promise<JobStatus> {
    const job = await ctx.queue.get(id);
    if (!job || (job.owner !== owner && owner !== 'anonymous')) throw new NotFoundError(`job ${id} not found`);
    return job;
  }

  async function resultLinks(job: JobStatus) {
    const api = jobLinks(job.id);
    if (job.state !== 'completed') return { self: api.self, result: null, panel: null, metrics: null };
    const signed = await Promise.all(RESULT_FILES.map((f) => ctx.store.presign(resultKey(job.id, f))));
    return {
      self: api.self,
      result: signed[0] ?? api.result,
      panel: signed[1] ?? api.panel,
      metrics: signed[2] ?? api.metrics,
    };
  }

  app.get(
    '/v1/jobs/:id',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Job status, progress, metrics and result links',
        params: JobParamsSchema,
        response: { 200: JobResponseSchema, ...errorResponses },
      },
    },
    async (req) => {
      const job = await ownJob(req.params.id, req.owner);
      return {
        jobId: job.id,
        status: job.state,
        method: job.method,
        model: job.model,
        createdAt: iso(job.createdAt) as string,
        startedAt: iso(job.startedAt),
        finishedAt: iso(job.finishedAt),
        attempts: job.attempts,
        progress: job.progress,
        metrics: job.result?.metrics ?? null,
        error: job.error,
        links: await resultLinks(job),
      };
    },
  );

  for (const file of RESULT_FILES) {
    app.get(
      `/v1/jobs/:id/${file}`,
      {
        schema: {
          tags: ['jobs'],
          summary: `The job's ${file}`,
          description: 'Redirects (302) to a presigned URL when the store makes them (S3), else streams the file. ?redirect=false always streams.',
          params: JobParamsSchema,
          querystring: FileQuerySchema,
          response: {
            200: { description: file.endsWith('.png') ? 'PNG image' : 'metrics JSON', content: { [file.endsWith('.png') ? 'image/png' : 'application/json']: { schema: {} } } },
            302: { description: 'redirect to a presigned URL', type: 'null' },
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        const job = await ownJob(req.params.id, req.owner);
        if (job.state !== 'completed') throw new ConflictError(`job ${job.id} is ${job.state}; ${file} exists once it is completed`);
        const key = resultKey(job.id, file as ResultFile);
        if (req.query.redirect !== 'false') {
          const url = await ctx.store.presign(key);
          if (url) return reply.redirect(url, 302);
        }
        const obj = await ctx.store.stream(key);
        reply.header('content-type', obj.contentType ?? (file.endsWith('.png') ? 'image/png' : 'application/json'));
        if (obj.length !== null) reply.header('content-length', obj.length);
        reply.header('cache-control', 'private, max-age=3600');
        return reply.send(obj.stream);
      },
    );
  }

  app.delete(
    '/v1/jobs/:id',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Cancel a job',
        description: 'A queued job is removed and never runs (200, cancelled); a running one stops at its next solver iteration (202, cancelling). A finished job cannot be cancelled (409).',
        params: JobParamsSchema,
        response: { 200: CancelResponseSchema, 202: CancelResponseSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const job = await ownJob(req.params.id, req.owner);
      if (job.state === 'completed' || job.state === 'failed' || job.state === 'cancelled') {
        throw new ConflictError(`job ${job.id} is already ${job.state}`);
      }
      const outcome = await ctx.queue.cancel(job.id);
      if (outcome === null) throw new NotFoundError(`job ${job.id} not found`);
      if (outcome === 'finished') throw new ConflictError(`job ${job.id} finished before it could be cancelled`);
      req.log.info({ jobId: job.id, outcome }, 'job cancel requested');
      return reply.status(outcome === 'cancelled' ? 200 : 202).send({ jobId: job.id, status: outcome });
    },
  );
};
