import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { DirectoryModelCatalog } from '../catalog.ts';
import { loadConfig } from '../config.ts';
import { MemoryJobQueue } from '../jobs/memory.ts';
import { LocalResultStore } from '../storage/local.ts';
import { buildApp } from './app.ts';

/** The OpenAPI 3.1 document of the API as YAML, from the route schemas; independent of the environment. */
export async function renderOpenApi(): Promise<string> {
  const config = loadConfig({ API_KEYS: 'openapi-document-only-key', LOG_LEVEL: 'silent' }, { mode: 'api' });
  const queue = new MemoryJobQueue({ attempts: 1, backoffMs: 0, keepMs: 0 });
  const app: FastifyInstance = await buildApp({
    config,
    queue,
    store: new LocalResultStore(join(tmpdir(), 'flowprior-openapi-unused')),
    catalog: new DirectoryModelCatalog(join(tmpdir(), 'flowprior-openapi-unused'), { glow: config.glowModel, dcgan: config.dcganModel }),
    logger: false,
  });
  try {
    await app.ready();
    return (app as unknown as { swagger(o: { yaml: true }): string }).swagger({ yaml: true });
  } finally {
    await app.close();
    await queue.close();
  }
}
