// Writes openapi/openapi.yaml from the API's route schemas (npm run openapi). test/service/openapi.test.ts fails
// when the committed file differs from what this writes.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderOpenApi } from '../src/service/api/openapi.ts';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'openapi', 'openapi.yaml');
await mkdir(dirname(out), { recursive: true });
await writeFile(out, await renderOpenApi());
console.log(`wrote ${out}`);
