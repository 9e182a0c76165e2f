import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CONFIG_VARIABLES } from '../../src/service/config.ts';
import { DEPLOY } from '../../scripts/write-manifests.ts';
import {
  DOCKERFILES, REPO_ROOT, contextSources, execForm, fileExists, inBuildContext, parseDockerfile, readRepoFile, stageEnv,
} from './support.ts';

const lock = JSON.parse(readRepoFile('package-lock.json')) as { packages: Record<string, { version?: string; optional?: boolean }> };
const pkg = JSON.parse(readRepoFile('package.json')) as { engines: { node: string } };
const dockerignore = readRepoFile('.dockerignore');
const parsed = Object.fromEntries(DOCKERFILES.map((f) => [f, parseDockerfile(join(REPO_ROOT, f))]));
const finalStage = (f: (typeof DOCKERFILES)[number]) => parsed[f]!.stages.at(-1)!;
const lockVersion = (name: string) => lock.packages[`node_modules/${name}`]?.version;

test('the .dockerignore matcher follows Docker rules (last match wins, ! re-includes, parents count)', () => {
  const rules = '*\n!src\n!package.json\nsrc/secret\n';
  assert.equal(inBuildContext('src/cli/main.ts', rules), true);
  assert.equal(inBuildContext('src/secret/key.pem', rules), false);
  assert.equal(inBuildContext('node_modules/x/index.js', rules), false);
  assert.equal(inBuildContext('package.json', rules), true);
  assert.equal(inBuildContext('package-lock.json', rules), false);
});

test('every base image is pinned to a version (no latest, no bare major tag)', () => {
  for (const f of DOCKERFILES) {
    for (const stage of parsed[f]!.stages) {
      const ref = stage.image;
      if (parsed[f]!.stages.some((s) => s.alias === ref)) continue; // an earlier stage of the same file
      const tag = ref.includes('@') ? ref.split('@')[1]! : ref.split(':')[1];
      assert.ok(tag, `${f}: ${ref} has no tag`);
      assert.notEqual(tag, 'latest', `${f}: ${ref}`);
      assert.match(tag!, /\d+\.\d+\.\d+|^sha256:/, `${f}: ${ref} must name a full x.y.z version`);
    }
  }
});

test('all images use one Node version, and it satisfies package.json engines', () => {
  const versions = DOCKERFILES.map((f) => parsed[f]!.globalArgs.NODE_VERSION);
  assert.ok(versions.every((v) => v === versions[0]), `NODE_VERSION differs: ${versions.join(', ')}`);
  const [maj, min, patch] = versions[0]!.split('.').map(Number) as [number, number, number];
  const m = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(pkg.engines.node);
  assert.ok(m, `unexpected engines.node ${pkg.engines.node}`);
  const need = [Number(m[1]), Number(m[2]), Number(m[3])];
  const cmp = maj - need[0]! || min - need[1]! || patch - need[2]!;
  assert.ok(cmp >= 0 && maj === need[0], `Node ${versions[0]} vs engines ${pkg.engines.node}`);
  for (const f of ['docker/Dockerfile.api', 'docker/Dockerfile.worker-cpu'] as const) {
    for (const s of parsed[f]!.stages) assert.match(s.image, new RegExp(`^node:${versions[0]!.replaceAll('.', '\\.')}-bookworm`));
  }
});

test('the GPU worker pairs tfjs-node-gpu (as locked) with the CUDA/cuDNN its libtensorflow 2.9.1 needs', () => {
  const df = parsed['docker/Dockerfile.worker']!;
  assert.equal(df.globalArgs.TFJS_NODE_VERSION, lockVersion('@tensorflow/tfjs-node-gpu'));
  assert.equal(df.globalArgs.TFJS_NODE_VERSION, '4.22.0');
  assert.equal(df.stages[0]!.image, 'nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04');
  const run = df.stages.flatMap((s) => s.instructions).filter((i) => i.name === 'RUN').map((i) => i.args).join('\n');
  assert.match(run, /npm rebuild @tensorflow\/tfjs-node-gpu/);
  assert.match(run, /libtensorflow\.so\.2\.9\.1/);
  assert.equal(stageEnv(finalStage('docker/Dockerfile.worker')).FLOWPRIOR_BACKEND, 'tensorflow-gpu');
  const cpu = parsed['docker/Dockerfile.worker-cpu']!;
  assert.equal(cpu.globalArgs.TFJS_NODE_VERSION, lockVersion('@tensorflow/tfjs-node'));
  assert.equal(stageEnv(finalStage('docker/Dockerfile.worker-cpu')).FLOWPRIOR_BACKEND, 'tensorflow');
});

test('every path copied from the build context exists and is not excluded by .dockerignore', () => {
  for (const f of DOCKERFILES) {
    for (const stage of parsed[f]!.stages) {
      for (const src of contextSources(stage)) {
        assert.ok(fileExists(src), `${f}: COPY source ${src} does not exist in the repository`);
        assert.ok(inBuildContext(src, dockerignore), `${f}: COPY source ${src} is excluded by .dockerignore`);
      }
    }
  }
});

test('the build context leaves out dependencies, VCS data and local results', () => {
  for (const p of ['node_modules/fastify/package.json', '.git/config', 'training/runs/a/ckpt', '.flowprior/results/x.png', 'test/deploy/support.ts']) {
    assert.equal(inBuildContext(p, dockerignore), false, p);
  }
});

test('final images run as a non-root user and start the documented process', () => {
  const expected: Record<string, string[]> = {
    'docker/Dockerfile.api': ['node', 'bin/flowprior.js', 'serve'],
    'docker/Dockerfile.worker': ['node', 'bin/flowprior.js', 'worker'],
    'docker/Dockerfile.worker-cpu': ['node', 'bin/flowprior.js', 'worker'],
  };
  for (const f of DOCKERFILES) {
    const stage = finalStage(f);
    const user = stage.instructions.filter((i) => i.name === 'USER').at(-1)?.args;
    assert.ok(user && user !== 'root' && user !== '0', `${f}: final stage must switch to a non-root USER`);
    assert.deepEqual(execForm(stage, 'CMD'), expected[f]);
    assert.ok(fileExists(expected[f]![1]!), 'bin/flowprior.js exists');
  }
});

test('the API image exposes the port the manifests use and has a HEALTHCHECK on /healthz', () => {
  const stage = finalStage('docker/Dockerfile.api');
  assert.deepEqual(stage.instructions.filter((i) => i.name === 'EXPOSE').map((i) => i.args), [String(DEPLOY.apiPort)]);
  assert.equal(stageEnv(stage).PORT, String(DEPLOY.apiPort));
  const hc = stage.instructions.find((i) => i.name === 'HEALTHCHECK');
  assert.ok(hc, 'HEALTHCHECK present');
  assert.match(hc.args, /\/healthz/);
});

test('images set only documented configuration variables (plus NODE_ENV)', () => {
  const known = new Set<string>([...CONFIG_VARIABLES, 'NODE_ENV']);
  for (const f of DOCKERFILES) {
    for (const name of Object.keys(stageEnv(finalStage(f)))) {
      assert.ok(known.has(name), `${f} sets ${name}, which is not a documented configuration variable`);
    }
  }
});

test('the API image skips native TensorFlow without --omit=optional (which would drop sharp and esbuild)', () => {
  const run = parsed['docker/Dockerfile.api']!.stages.flatMap((s) => s.instructions).filter((i) => i.name === 'RUN').map((i) => i.args).join('\n');
  assert.match(run, /npm ci --omit=dev --ignore-scripts/);
  assert.doesNotMatch(run, /--omit=optional/);
  assert.match(run, /rm -rf node_modules\/@tensorflow\/tfjs-node node_modules\/@tensorflow\/tfjs-node-gpu/);
  for (const platformPkg of ['@img/sharp-linux-x64', '@esbuild/linux-x64']) {
    assert.equal(lock.packages[`node_modules/${platformPkg}`]?.optional, true, `${platformPkg} is an optional package in the lockfile`);
  }
});
