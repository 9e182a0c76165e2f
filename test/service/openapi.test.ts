import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { parse } from 'yaml';
import { renderOpenApi } from '../../src/service/api/openapi.ts';
import { REPO_ROOT } from './helpers/s3.ts';

test('openapi/openapi.yaml is what the route schemas generate (run `npm run openapi` after changing routes)', async () => {
  const committed = await readFile(join(REPO_ROOT, 'openapi/openapi.yaml'), 'utf8');
  const fresh = await renderOpenApi();
  assert.equal(committed, fresh, 'openapi/openapi.yaml is stale: run npm run openapi');
});

test('the document is valid OpenAPI 3.1 and describes every route', async () => {
  const doc = parse(await readFile(join(REPO_ROOT, 'openapi/openapi.yaml'), 'utf8'));
  assert.equal(doc.openapi, '3.1.0');
  const api = (await SwaggerParser.validate(structuredClone(doc))) as { paths: Record<string, Record<string, unknown>> };
  const routes = Object.entries(api.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
  for (const r of [
    'POST /v1/solve',
    'GET /v1/jobs/{id}',
    'DELETE /v1/jobs/{id}',
    'GET /v1/jobs/{id}/result.png',
    'GET /v1/jobs/{id}/panel.png',
    'GET /v1/jobs/{id}/metrics.json',
    'GET /v1/models',
    'GET /v1/methods',
    'GET /v1/operators',
    'GET /v1/queue',
    'GET /healthz',
    'GET /readyz',
    'GET /metrics',
  ]) {
    assert.ok(routes.includes(r), `${r} documented (have: ${routes.join(', ')})`);
  }
  const solve = doc.paths['/v1/solve'].post;
  assert.match(solve.requestBody.content['application/json'].schema.properties.operator.description, /gaussian.*N\(0, 1\/m\).*mix32/s);
  assert.ok(doc.components.schemas.Operator_gaussian, 'operator specs are in components');
  assert.deepEqual(doc.paths['/healthz'].get.security, [], 'probes need no key');
  assert.deepEqual(doc.security, [{ apiKey: [] }]);
});
