// The kustomize base in k8s/: not stale, schema-valid (kubernetes-models), and internally consistent
// (selectors, ports, probes, Secret keys, KEDA target), with an environment the service accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import { loadConfig } from '../../src/service/config.ts';
import { ApiKeyAuth } from '../../src/service/api/auth.ts';
import { DEPLOY, K8S_DIR, REPO_ROOT, queueUrl, renderManifests, staleManifests } from '../../scripts/write-manifests.ts';
import { parseDockerfile, stageEnv } from './support.ts';
import { REQUIRED_BY_ROLE, WORST_CASE_BATCH_SECONDS, assertDeploymentVariables } from './variables.ts';

interface Validatable {
  validate(): void;
}
type Ctor = new (data: never) => Validatable;

const CLASSES: Record<string, Ctor> = {
  'v1/Namespace': Namespace as unknown as Ctor,
  'v1/ConfigMap': ConfigMap as unknown as Ctor,
  'v1/Secret': Secret as unknown as Ctor,
  'v1/Service': Service as unknown as Ctor,
  'apps/v1/Deployment': Deployment as unknown as Ctor,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as unknown as Ctor,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject as unknown as Ctor,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication as unknown as Ctor,
};

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** Every object of the committed files, parsed from YAML as kubectl would read them. */
function committedObjects(): K8sObject[] {
  const out: K8sObject[] = [];
  for (const file of readdirSync(K8S_DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
    for (const doc of parseAllDocuments(readFileSync(join(K8S_DIR, file), 'utf8'))) {
      assert.deepEqual(doc.errors, [], `${file}: YAML errors`);
      out.push(doc.toJS() as K8sObject);
    }
  }
  return out;
}

const objects = committedObjects();
const find = <T>(kind: string, name: string): T => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} exists`);
  return o as unknown as T;
};
const api = find<Deployment>('Deployment', DEPLOY.apiName);
const worker = find<Deployment>('Deployment', DEPLOY.workerName);
const configMap = find<ConfigMap>('ConfigMap', DEPLOY.configName);
const secrets = objects.filter((o) => o.kind === 'Secret') as unknown as Secret[];
const apiContainer = api.spec!.template.spec!.containers[0]!;
const workerContainer = worker.spec!.template.spec!.containers[0]!;

test('the committed k8s/ files are exactly what scripts/write-manifests.ts generates', () => {
  assert.deepEqual(staleManifests(), [], 'k8s/ is stale: run npm run manifests');
  const onDisk = readdirSync(K8S_DIR).filter((f) => f.endsWith('.yaml')).sort();
  assert.deepEqual(onDisk, [...renderManifests().keys()].sort(), 'k8s/ holds no file the script does not write');
});

test('staleness detection notices a changed image tag (the check can fail)', () => {
  const other = renderManifests({ version: '9.9.9' });
  assert.notEqual(other.get('api.yaml'), readFileSync(join(K8S_DIR, 'api.yaml'), 'utf8'));
});

test('every committed object validates against its kubernetes-models schema', () => {
  assert.ok(objects.length >= 11, `${objects.length} objects`);
  for (const o of objects) {
    const Model = CLASSES[`${o.apiVersion}/${o.kind}`];
    assert.ok(Model, `no model class for ${o.apiVersion} ${o.kind}`);
    const { apiVersion: _a, kind: _k, ...data } = o;
    assert.doesNotThrow(() => new Model(data as never).validate(), `${o.kind}/${o.metadata.name}`);
  }
});

test('validate() rejects a malformed object (the schema check is not vacuous)', () => {
  const { apiVersion: _a, kind: _k, ...data } = structuredClone(api) as unknown as K8sObject;
  (data.spec as { replicas: unknown }).replicas = 'three';
  assert.throws(() => new Deployment(data as never).validate());
  const { apiVersion: _b, kind: _c, ...so } = structuredClone(find<K8sObject>('ScaledObject', DEPLOY.workerName));
  delete (so.spec as { triggers?: unknown }).triggers;
  assert.throws(() => new ScaledObject(so as never).validate());
});

test('kustomization lists every manifest file and pins both images to the package version', () => {
  const k = parseAllDocuments(readFileSync(join(K8S_DIR, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as {
    namespace: string;
    resources: string[];
    images: Array<{ name: string; newTag: string }>;
  };
  const files = readdirSync(K8S_DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
  assert.deepEqual([...k.resources].sort(), files);
  assert.equal(k.namespace, DEPLOY.namespace);
  const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  assert.deepEqual(k.images.map((i) => [i.name, i.newTag]), [['flowprior-api', version], ['flowprior-worker', version]]);
  assert.equal(apiContainer.image, `flowprior-api:${version}`);
  assert.equal(workerContainer.image, `flowprior-worker:${version}`);
});

test('Deployment, Service and PodDisruptionBudget selectors select the pods they are meant for', () => {
  for (const d of [api, worker]) {
    const podLabels = d.spec!.template.metadata!.labels!;
    for (const [k, v] of Object.entries(d.spec!.selector.matchLabels!)) assert.equal(podLabels[k], v);
  }
  const svc = find<Service>('Service', DEPLOY.apiName);
  const apiLabels = api.spec!.template.metadata!.labels!;
  for (const [k, v] of Object.entries(svc.spec!.selector!)) assert.equal(apiLabels[k], v);
  const workerLabels = worker.spec!.template.metadata!.labels!;
  assert.notEqual(svc.spec!.selector!['app.kubernetes.io/component'], workerLabels['app.kubernetes.io/component'], 'the Service must not route to workers');
  for (const [name, d] of [['flowprior-api', api], ['flowprior-worker', worker]] as const) {
    const pdb = find<PodDisruptionBudget>('PodDisruptionBudget', name);
    assert.deepEqual(pdb.spec!.selector!.matchLabels, d.spec!.selector.matchLabels);
    assert.equal(pdb.spec!.maxUnavailable, 1);
  }
});

test('the API: 3 replicas, probes on /healthz and /readyz through the named port the Service targets', () => {
  assert.equal(api.spec!.replicas, 3);
  const port = apiContainer.ports!.find((p) => p.name === 'http');
  assert.equal(port?.containerPort, DEPLOY.apiPort);
  assert.equal(configMap.data!.PORT, String(DEPLOY.apiPort), 'the process listens where the probes look');
  assert.equal(apiContainer.livenessProbe?.httpGet?.path, '/healthz');
  assert.equal(apiContainer.readinessProbe?.httpGet?.path, '/readyz');
  assert.equal(apiContainer.startupProbe?.httpGet?.path, '/healthz');
  for (const p of [apiContainer.livenessProbe, apiContainer.readinessProbe, apiContainer.startupProbe]) {
    assert.equal(p?.httpGet?.port, 'http');
  }
  const svc = find<Service>('Service', DEPLOY.apiName);
  assert.deepEqual(svc.spec!.ports!.map((p) => [p.port, p.targetPort]), [[DEPLOY.apiPort, 'http']]);
  assert.deepEqual(apiContainer.command, ['node', 'bin/flowprior.js', 'serve']);
  assert.ok(apiContainer.lifecycle?.preStop?.exec?.command?.length, 'preStop lets the endpoint drain');
});

test('every container has requests and a memory limit, runs non-root and has a writable /tmp', () => {
  for (const d of [api, worker]) {
    const pod = d.spec!.template.spec!;
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.equal(pod.securityContext?.runAsUser, DEPLOY.uid);
    for (const c of pod.containers) {
      assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory, `${c.name} requests`);
      assert.ok(c.resources?.limits?.memory, `${c.name} memory limit`);
      assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
      const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
      assert.ok(tmp && pod.volumes?.some((v) => v.name === tmp.name && v.emptyDir), `${c.name} /tmp is an emptyDir`);
    }
  }
});

test('the worker runs on the GPU node pool with one GPU and outlives a batch when terminated', () => {
  const pod = worker.spec!.template.spec!;
  assert.equal(workerContainer.resources!.limits!['nvidia.com/gpu'], '1');
  assert.equal(workerContainer.resources!.requests!['nvidia.com/gpu'], '1');
  assert.deepEqual(pod.nodeSelector, DEPLOY.gpuNodeSelector);
  assert.ok(pod.tolerations!.some((t) => t.key === 'nvidia.com/gpu' && t.effect === 'NoSchedule' && t.operator === 'Exists'));
  assert.equal(worker.spec!.replicas, undefined, 'KEDA owns the replica count');
  assert.deepEqual(workerContainer.command, ['node', 'bin/flowprior.js', 'worker']);
  const maxEvaluations = loadConfig(containerEnv(workerContainer, 'docker/Dockerfile.worker'), { mode: 'worker' }).maxEvaluations;
  assert.ok(pod.terminationGracePeriodSeconds! > WORST_CASE_BATCH_SECONDS(maxEvaluations), `grace ${pod.terminationGracePeriodSeconds}s`);
  assert.ok(pod.terminationGracePeriodSeconds! >= 1800);
  assert.equal(worker.spec!.strategy?.rollingUpdate?.maxSurge, 0, 'a rollout needs no spare GPU');
});

test('KEDA scales the worker Deployment on the API queue total, 6 per pod (one batch), down to zero', () => {
  const so = find<ScaledObject>('ScaledObject', DEPLOY.workerName);
  assert.equal(so.spec.scaleTargetRef.name, worker.metadata!.name);
  assert.equal(so.spec.scaleTargetRef.kind, 'Deployment');
  assert.equal(so.spec.minReplicaCount, 0);
  assert.ok((so.spec.maxReplicaCount ?? 0) >= 1);
  const [trigger] = so.spec.triggers;
  assert.equal(so.spec.triggers.length, 1);
  assert.equal(trigger!.type, 'metrics-api');
  assert.equal(trigger!.metadata.valueLocation, 'total');
  assert.equal(Number(trigger!.metadata.targetValue), 6);
  assert.equal(trigger!.metadata.targetValue, configMap.data!.BATCH_MAX, 'one full batch per worker pod');
  const url = new URL(trigger!.metadata.url!);
  assert.equal(url.toString(), queueUrl());
  assert.equal(url.pathname, '/v1/queue');
  const svc = find<Service>('Service', DEPLOY.apiName);
  assert.equal(url.hostname, `${svc.metadata!.name}.${DEPLOY.namespace}.svc.cluster.local`);
  assert.equal(Number(url.port), svc.spec!.ports![0]!.port);
});

test('the scaler authenticates to /v1/queue the way the API checks keys (Authorization: Bearer <one of API_KEYS>)', () => {
  const so = find<ScaledObject>('ScaledObject', DEPLOY.workerName);
  const trigger = so.spec.triggers[0]!;
  assert.equal(trigger.metadata.authMode, 'bearer');
  const auth = find<TriggerAuthentication>('TriggerAuthentication', trigger.authenticationRef!.name);
  const refs = auth.spec.secretTargetRef ?? [];
  assert.deepEqual(refs.map((r) => r.parameter), ['token'], 'bearer mode reads the "token" parameter');
  const s = secrets.find((x) => x.metadata!.name === refs[0]!.name);
  const token = s?.stringData?.[refs[0]!.key];
  assert.ok(token, `Secret ${refs[0]!.name} has ${refs[0]!.key}`);
  const apiKeys = loadConfig(containerEnv(apiContainer, 'docker/Dockerfile.api'), { mode: 'api' }).apiKeys;
  const checker = new ApiKeyAuth(apiKeys);
  assert.doesNotThrow(() => checker.authenticate(`Bearer ${token}`), 'the placeholder token is one of the placeholder API keys');
  assert.throws(() => checker.authenticate(`Bearer ${token}x`), 'and the check is real');
});

/** A container's environment as the kubelet builds it: image ENV, then envFrom ConfigMaps, then env. */
function containerEnv(c: IContainer, dockerfile: string): Record<string, string> {
  const env: Record<string, string> = { ...stageEnv(parseDockerfile(join(REPO_ROOT, dockerfile)).stages.at(-1)!) };
  for (const from of c.envFrom ?? []) {
    assert.equal(from.configMapRef?.name, DEPLOY.configName, 'envFrom only the shared ConfigMap');
    Object.assign(env, configMap.data);
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      const s = secrets.find((x) => x.metadata!.name === ref.name);
      assert.ok(s, `Secret ${ref.name} exists`);
      const value = s.stringData?.[ref.key];
      assert.ok(value !== undefined, `Secret ${ref.name} has key ${ref.key}`);
      env[e.name] = value;
    }
  }
  return env;
}

test('API and worker environments are accepted by the service configuration, with S3 storage', () => {
  const apiEnv = containerEnv(apiContainer, 'docker/Dockerfile.api');
  const workerEnv = containerEnv(workerContainer, 'docker/Dockerfile.worker');
  assert.equal(loadConfig(apiEnv, { mode: 'api' }).storage, 's3');
  const w = loadConfig(workerEnv, { mode: 'worker' });
  assert.equal(w.storage, 's3');
  assert.equal(w.backend, 'tensorflow-gpu');
  assert.equal(w.workerMetricsPort, workerContainer.ports!.find((p) => p.name === 'metrics')!.containerPort);
  assert.equal(workerEnv.API_KEYS, undefined, 'workers do not receive the API keys');
  for (const key of ['REDIS_URL', 'QUEUE_NAME', 'S3_ENDPOINT', 'S3_BUCKET']) assert.equal(apiEnv[key], workerEnv[key], key);
});

test('every variable the manifests set is a documented configuration variable, and required ones are set', () => {
  const fromManifests = (c: IContainer): Record<string, string> => {
    const env: Record<string, string> = { ...configMap.data };
    for (const e of c.env ?? []) env[e.name] = e.value ?? 'from-secret';
    return env;
  };
  assertDeploymentVariables('k8s api', fromManifests(apiContainer), REQUIRED_BY_ROLE.api);
  assertDeploymentVariables('k8s worker', fromManifests(workerContainer), REQUIRED_BY_ROLE.worker);
  for (const s of secrets.filter((x) => x.metadata!.name === DEPLOY.secretName)) {
    assertDeploymentVariables('k8s Secret', { ...s.stringData }, []);
  }
});

// kubectl's built-in kustomize renders the base (and the documented overlay) exactly as `kubectl apply -k`
// would, offline. kubectl is not a Debian package; where it is missing these two tests are skipped.
const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
const NO_KUBECTL = kubectl ? false : 'kubectl is not installed (it carries kustomize); install it to run this check';

function kustomize(dir: string): K8sObject[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject);
}

test('kubectl kustomize builds the base: every object in the namespace, labelled, images tagged', { skip: NO_KUBECTL }, () => {
  const built = kustomize(K8S_DIR);
  assert.equal(built.length, objects.length);
  for (const o of built) {
    const meta = o.metadata as { namespace?: string; labels?: Record<string, string> };
    if (o.kind !== 'Namespace') assert.equal(meta.namespace, DEPLOY.namespace, `${o.kind}/${o.metadata.name}`);
    assert.equal(meta.labels?.['app.kubernetes.io/part-of'], 'flowprior');
  }
  const images = built.filter((o) => o.kind === 'Deployment').map((o) => (o as unknown as Deployment).spec!.template.spec!.containers[0]!.image);
  assert.deepEqual(images.sort(), [apiContainer.image, workerContainer.image].sort());
});

/** The code block that follows `<!-- overlay:NAME -->` in docs/deployment.md. */
function documentedOverlayFiles(): Map<string, string> {
  const doc = readFileSync(join(REPO_ROOT, 'docs/deployment.md'), 'utf8');
  const files = new Map<string, string>();
  for (const m of doc.matchAll(/<!-- overlay:(\S+) -->\n```\w*\n([\s\S]*?)```/g)) files.set(m[1]!, m[2]!);
  return files;
}

test('the overlay documented in docs/deployment.md builds and replaces every placeholder', { skip: NO_KUBECTL }, () => {
  const files = documentedOverlayFiles();
  assert.deepEqual([...files.keys()].sort(), ['keda.env', 'kustomization.yaml', 'secrets.env']);
  const root = mkdtempSync(join(tmpdir(), 'flowprior-overlay-'));
  try {
    // The documented layout: deploy/prod/ beside a checkout named flowprior/.
    symlinkSync(REPO_ROOT, join(root, 'flowprior'));
    const overlay = join(root, 'deploy', 'prod');
    mkdirSync(overlay, { recursive: true });
    for (const [name, text] of files) writeFileSync(join(overlay, name), text);
    const built = kustomize(overlay);
    const text = JSON.stringify(built);
    assert.ok(!/replace-me|replace-with/.test(text), 'no placeholder survives the overlay');
    const cm = built.find((o) => o.kind === 'ConfigMap') as unknown as ConfigMap;
    assert.equal(cm.data!.S3_ENDPOINT, 'https://s3.eu-west-1.amazonaws.com');
    assert.equal(cm.data!.QUEUE_NAME, configMap.data!.QUEUE_NAME, 'merge keeps the base settings');
    const secretData = (name: string): Record<string, string> => {
      const s = built.find((o) => o.kind === 'Secret' && o.metadata.name === name) as unknown as Secret;
      assert.ok(s, `Secret ${name}`);
      return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8').trim()]));
    };
    const env = { ...cm.data, ...secretData(DEPLOY.secretName) };
    const config = loadConfig(env, { mode: 'api' });
    assert.equal(config.s3.bucket, 'my-flowprior-results');
    new ApiKeyAuth(config.apiKeys).authenticate(`Bearer ${secretData(DEPLOY.kedaSecretName).token}`);
    const deployments = built.filter((o) => o.kind === 'Deployment') as unknown as Deployment[];
    for (const d of deployments) assert.match(d.spec!.template.spec!.containers[0]!.image!, /^registry\.example\.com\/flowprior\//);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
