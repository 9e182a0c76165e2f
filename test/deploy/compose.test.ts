// Validates docker-compose.yml with the real docker-compose 1.29 binary (offline: `config` needs no engine)
// and checks that what it resolves is a configuration the service accepts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadConfig, type ServiceMode } from '../../src/service/config.ts';
import {
  COMPOSE_INSTALL_HINT, REPO_ROOT, dockerCompose, durationSeconds, fileExists, findDockerCompose, parseDockerfile,
  readRepoFile, resolvedCompose, stageEnv, type ComposeRun, type ComposeService, type ResolvedCompose,
} from './support.ts';
import { REQUIRED_BY_ROLE, WORST_CASE_BATCH_SECONDS, assertDeploymentVariables } from './variables.ts';

let services: Record<string, ComposeService> = {};
let runs: Record<'plain' | 'cpu' | 'topLevelName' | 'serviceGpus', ComposeRun>;
let withApiKeys: ResolvedCompose;
let tmp = '';

/** Copies of the compose file with a construct docker-compose 1.29 rejects (negative controls). */
function rejectedVariant(what: 'topLevelName' | 'serviceGpus'): string {
  const original = readRepoFile('docker-compose.yml');
  const text = what === 'topLevelName'
    ? original.replace('services:\n', 'name: flowprior\nservices:\n')
    : original.replace('    image: flowprior-worker:local\n', '    image: flowprior-worker:local\n    gpus: all\n');
  assert.notEqual(text, original, `${what}: the variant must change the file`);
  const file = join(tmp, `${what}.yml`);
  writeFileSync(file, text);
  return file;
}

before(async () => {
  const version = findDockerCompose();
  if (!version) {
    throw new Error(`docker-compose is not installed; these tests run the real binary. Install it with: ${COMPOSE_INSTALL_HINT}`);
  }
  tmp = mkdtempSync(join(tmpdir(), 'flowprior-compose-'));
  const variant = (what: 'topLevelName' | 'serviceGpus') =>
    dockerCompose(['-f', rejectedVariant(what), '--project-directory', REPO_ROOT, 'config', '-q']);
  const [resolved, plain, cpu, topLevelName, serviceGpus, custom] = await Promise.all([
    resolvedCompose(),
    dockerCompose(['config', '-q']),
    dockerCompose(['--profile', 'cpu', 'config', '-q']),
    variant('topLevelName'),
    variant('serviceGpus'),
    resolvedCompose({ API_KEYS: 'a-production-key-0123456789' }),
  ]);
  services = resolved.services;
  runs = { plain, cpu, topLevelName, serviceGpus };
  withApiKeys = custom;
});

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const FLOWPRIOR_ROLES: Record<string, ServiceMode> = { api: 'api', worker: 'worker', 'worker-cpu': 'worker' };

/** What a container sees: its image's ENV, overridden by the compose environment. */
function containerEnv(name: string): Record<string, string> {
  const svc = services[name]!;
  const image = parseDockerfile(join(REPO_ROOT, svc.build!.dockerfile)).stages.at(-1)!;
  const env: Record<string, string> = { ...stageEnv(image) };
  for (const [k, v] of Object.entries(svc.environment ?? {})) if (v !== null) env[k] = String(v);
  return env;
}

test('docker-compose config -q accepts the file without profiles', () => {
  assert.equal(runs.plain.status, 0, runs.plain.stderr);
});

test('docker-compose config -q accepts the file with the cpu profile', () => {
  assert.equal(runs.cpu.status, 0, runs.cpu.stderr);
});

test('the same binary rejects a top-level name and a service gpus key, so the passing checks are not vacuous', () => {
  assert.notEqual(runs.topLevelName.status, 0, 'top-level name: must be rejected');
  assert.match(runs.topLevelName.stderr, /'name'/);
  assert.notEqual(runs.serviceGpus.status, 0, 'service gpus: must be rejected');
  assert.match(runs.serviceGpus.stderr, /gpus/);
});

test('services: infrastructure and GPU worker by default, the CPU worker only in the cpu profile', () => {
  assert.deepEqual(Object.keys(services).sort(), ['api', 'createbucket', 'minio', 'redis', 'worker', 'worker-cpu']);
  for (const [name, svc] of Object.entries(services)) {
    assert.deepEqual(svc.profiles ?? [], name === 'worker-cpu' ? ['cpu'] : [], `${name} profiles`);
  }
});

test('third-party images are pinned to a release, not latest', () => {
  for (const [name, svc] of Object.entries(services)) {
    if (svc.build) continue;
    const tag = svc.image?.split(':')[1];
    assert.ok(tag && tag !== 'latest' && /\d+[.-]\d+[.-]\d+/.test(tag), `${name}: ${svc.image}`);
  }
});

test('every flowprior service builds from an existing Dockerfile and runs the documented command', () => {
  const expected: Record<string, [string, string]> = {
    api: ['docker/Dockerfile.api', 'serve'],
    worker: ['docker/Dockerfile.worker', 'worker'],
    'worker-cpu': ['docker/Dockerfile.worker-cpu', 'worker'],
  };
  for (const [name, [dockerfile, sub]] of Object.entries(expected)) {
    const svc = services[name]!;
    assert.equal(svc.build?.dockerfile, dockerfile);
    assert.ok(fileExists(dockerfile), `${dockerfile} exists`);
    assert.equal(svc.build?.context, REPO_ROOT, `${name} builds from the repository root`);
    assert.deepEqual(svc.command, ['node', 'bin/flowprior.js', sub]);
  }
});

test('the GPU worker reserves one NVIDIA GPU through deploy.resources (not gpus:)', () => {
  const devices = services.worker!.deploy?.resources?.reservations?.devices ?? [];
  assert.equal(devices.length, 1);
  assert.equal(devices[0]!.driver, 'nvidia');
  assert.equal(Number(devices[0]!.count), 1);
  assert.deepEqual(devices[0]!.capabilities, ['gpu']);
  assert.equal(services['worker-cpu']!.deploy, undefined, 'the CPU worker reserves no GPU');
  assert.equal(containerEnv('worker').FLOWPRIOR_BACKEND, 'tensorflow-gpu');
  assert.notEqual(containerEnv('worker-cpu').FLOWPRIOR_BACKEND, 'tensorflow-gpu');
});

test('every flowprior container gets a configuration the service accepts, with S3 storage', () => {
  for (const [name, mode] of Object.entries(FLOWPRIOR_ROLES)) {
    const env = containerEnv(name);
    const config = loadConfig(env, { mode });
    assert.equal(config.storage, 's3', `${name} must not fall back to the local folder store`);
    assertDeploymentVariables(`compose ${name}`, env, REQUIRED_BY_ROLE[mode === 'api' ? 'api' : 'worker']);
  }
});

test('the API key default is documented and usable, and an exported API_KEYS replaces it', () => {
  const defaultKeys = loadConfig(containerEnv('api'), { mode: 'api' }).apiKeys;
  assert.equal(defaultKeys.length, 1);
  assert.ok(readRepoFile('docs/deployment.md').includes(defaultKeys[0]!), 'docs/deployment.md names the default key');
  assert.equal(withApiKeys.services.api!.environment!.API_KEYS, 'a-production-key-0123456789');
});

test('API and workers share one queue, one Redis and one bucket, and those are the compose services', () => {
  const envs = Object.keys(FLOWPRIOR_ROLES).map(containerEnv);
  for (const key of ['REDIS_URL', 'QUEUE_NAME', 'S3_ENDPOINT', 'S3_BUCKET', 'S3_ACCESS_KEY', 'S3_SECRET_KEY']) {
    assert.equal(new Set(envs.map((e) => e[key])).size, 1, `${key} differs between services`);
  }
  const env = envs[0]!;
  assert.equal(new URL(env.REDIS_URL!).hostname, 'redis');
  assert.equal(new URL(env.S3_ENDPOINT!).hostname, 'minio');
  const minio = services.minio!.environment!;
  assert.equal(env.S3_ACCESS_KEY, minio.MINIO_ROOT_USER);
  assert.equal(env.S3_SECRET_KEY, minio.MINIO_ROOT_PASSWORD);
  assert.ok((minio.MINIO_ROOT_PASSWORD ?? '').length >= 8, 'MinIO refuses root passwords under 8 characters');
  // The one-shot job creates exactly the bucket the service writes to, with the same credentials.
  const mc = services.createbucket!;
  assert.deepEqual(mc.command, ['mb', '--ignore-existing', `store/${env.S3_BUCKET}`]);
  const mcHost = new URL(mc.environment!.MC_HOST_store!);
  assert.equal(mcHost.username, env.S3_ACCESS_KEY);
  assert.equal(decodeURIComponent(mcHost.password), env.S3_SECRET_KEY);
  assert.equal(mcHost.host, new URL(env.S3_ENDPOINT!).host);
});

test('flowprior services start after Redis is healthy and the bucket exists', () => {
  for (const name of Object.keys(FLOWPRIOR_ROLES)) {
    assert.deepEqual(services[name]!.depends_on, {
      createbucket: { condition: 'service_completed_successfully' },
      redis: { condition: 'service_healthy' },
    });
  }
});

test('workers get a stop grace period longer than a worst-case batch', () => {
  for (const name of ['worker', 'worker-cpu']) {
    const grace = durationSeconds(services[name]!.stop_grace_period ?? '10s');
    const maxEvaluations = loadConfig(containerEnv(name), { mode: 'worker' }).maxEvaluations;
    assert.ok(grace > WORST_CASE_BATCH_SECONDS(maxEvaluations), `${name}: ${grace}s`);
  }
});
