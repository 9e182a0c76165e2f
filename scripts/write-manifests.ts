// Writes the Kubernetes kustomize base in k8s/ from typed objects, so that tsc rejects a misspelt field and
// test/deploy checks that the committed YAML is what this script produces.
//   npm run manifests            write k8s/*.yaml
//   npm run manifests -- --check exit 1 if k8s/ differs from what would be written
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const K8S_DIR = join(REPO_ROOT, 'k8s');

/** The facts the manifests are built from; tests read them instead of repeating numbers. */
export const DEPLOY = {
  namespace: 'flowprior',
  apiName: 'flowprior-api',
  workerName: 'flowprior-worker',
  configName: 'flowprior-config',
  secretName: 'flowprior-secrets',
  kedaSecretName: 'flowprior-keda',
  apiPort: 8080,
  workerMetricsPort: 9464,
  apiReplicas: 3,
  /** Jobs per worker pod KEDA aims for: one full batch (BATCH_MAX) per GPU. */
  jobsPerWorker: 6,
  maxWorkers: 8,
  /** Longer than the longest batch: a terminating worker finishes the batch it holds before it exits. */
  workerGraceSeconds: 1800,
  /** nodeSelector of the GPU node pool (set by NVIDIA GPU feature discovery / the GPU operator). */
  gpuNodeSelector: { 'nvidia.com/gpu.present': 'true' } as Record<string, string>,
  uid: 1000,
} as const;

/** Non-secret settings shared by the API and the workers (a ConfigMap). */
export const CONFIG_DATA: Record<string, string> = {
  PORT: String(DEPLOY.apiPort),
  HOST: '0.0.0.0',
  QUEUE_NAME: 'flowprior',
  STORAGE: 's3',
  S3_ENDPOINT: 'https://s3.example.com',
  S3_PUBLIC_ENDPOINT: 'https://s3.example.com',
  S3_REGION: 'us-east-1',
  S3_BUCKET: 'flowprior',
  MODELS_DIR: '/app/models',
  GLOW_MODEL: 'glow-celeba64',
  DCGAN_MODEL: 'dcgan-celeba64',
  BATCH_MAX: String(DEPLOY.jobsPerWorker),
  BATCH_WAIT_MS: '250',
  WORKER_METRICS_PORT: String(DEPLOY.workerMetricsPort),
  LOG_LEVEL: 'info',
};

/**
 * Placeholders for the Secret; replace them in an overlay (or create the Secret out of band).
 * REDIS_URL lives here because it usually carries the Redis password.
 */
export const SECRET_PLACEHOLDERS: Record<string, string> = {
  // Comma-separated, each at least 16 characters; KEDA_KEY_PLACEHOLDER below must stay one of them.
  API_KEYS: 'replace-me-api-key-for-keda-0001,replace-me-api-key-for-clients-0002',
  REDIS_URL: 'redis://:replace-with-redis-password@redis.flowprior.svc.cluster.local:6379',
  S3_ACCESS_KEY: 'replace-with-s3-access-key',
  S3_SECRET_KEY: 'replace-with-s3-secret-key',
};

const KEDA_KEY_PLACEHOLDER = 'replace-me-api-key-for-keda-0001';

/** Which Secret keys each component receives (least privilege: workers never see the API keys). */
const SECRET_KEYS_BY_COMPONENT = {
  api: ['API_KEYS', 'REDIS_URL', 'S3_ACCESS_KEY', 'S3_SECRET_KEY'],
  worker: ['REDIS_URL', 'S3_ACCESS_KEY', 'S3_SECRET_KEY'],
} as const;

type Component = keyof typeof SECRET_KEYS_BY_COMPONENT;

export interface ManifestOptions {
  /** Image tag; defaults to the package.json version so an image and its manifests move together. */
  version?: string;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function labels(component: Component): Record<string, string> {
  return { 'app.kubernetes.io/name': 'flowprior', 'app.kubernetes.io/component': component };
}

function secretEnv(component: Component): IEnvVar[] {
  return SECRET_KEYS_BY_COMPONENT[component].map((key) => ({
    name: key,
    valueFrom: { secretKeyRef: { name: DEPLOY.secretName, key } },
  }));
}

const podSecurity: IPodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: DEPLOY.uid,
  runAsGroup: DEPLOY.uid,
  fsGroup: DEPLOY.uid,
  seccompProfile: { type: 'RuntimeDefault' },
};

const containerSecurity: ISecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};

// tsx keeps its compile cache in the temp dir and the wasm backend writes its worker script there, so a
// read-only root filesystem needs a writable /tmp.
const tmpVolume: IVolume = { name: 'tmp', emptyDir: { sizeLimit: '512Mi' } };
const tmpMount: IVolumeMount = { name: 'tmp', mountPath: '/tmp' };

function namespace(): Namespace {
  return new Namespace({ metadata: { name: DEPLOY.namespace } });
}

function configMap(): ConfigMap {
  return new ConfigMap({ metadata: { name: DEPLOY.configName }, data: { ...CONFIG_DATA } });
}

function secret(): Secret {
  return new Secret({
    metadata: { name: DEPLOY.secretName },
    type: 'Opaque',
    stringData: { ...SECRET_PLACEHOLDERS },
  });
}

function apiContainer(image: string): IContainer {
  return {
    name: 'api',
    image,
    command: ['node', 'bin/flowprior.js', 'serve'],
    ports: [{ name: 'http', containerPort: DEPLOY.apiPort, protocol: 'TCP' }],
    envFrom: [{ configMapRef: { name: DEPLOY.configName } }],
    env: secretEnv('api'),
    resources: {
      requests: { cpu: '250m', memory: '512Mi' },
      limits: { memory: '1Gi' },
    },
    // Starting compiles the TypeScript with tsx; give it time before liveness applies.
    startupProbe: {
      httpGet: { path: '/healthz', port: 'http' },
      periodSeconds: 2,
      failureThreshold: 60,
    },
    livenessProbe: {
      httpGet: { path: '/healthz', port: 'http' },
      periodSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 3,
    },
    readinessProbe: {
      httpGet: { path: '/readyz', port: 'http' },
      periodSeconds: 5,
      timeoutSeconds: 3,
      failureThreshold: 2,
    },
    // Keep serving while the endpoint is removed from the Service, so no request hits a closing socket.
    lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } },
    securityContext: containerSecurity,
    volumeMounts: [tmpMount],
  };
}

function apiDeployment(image: string): Deployment {
  return new Deployment({
    metadata: { name: DEPLOY.apiName, labels: labels('api') },
    spec: {
      replicas: DEPLOY.apiReplicas,
      selector: { matchLabels: labels('api') },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: labels('api'),
          annotations: {
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(DEPLOY.apiPort),
            'prometheus.io/path': '/metrics',
          },
        },
        spec: {
          automountServiceAccountToken: false,
          securityContext: podSecurity,
          terminationGracePeriodSeconds: 30,
          containers: [apiContainer(image)],
          volumes: [tmpVolume],
        },
      },
    },
  });
}

function apiService(): Service {
  return new Service({
    metadata: { name: DEPLOY.apiName, labels: labels('api') },
    spec: {
      type: 'ClusterIP',
      selector: labels('api'),
      ports: [{ name: 'http', port: DEPLOY.apiPort, targetPort: 'http', protocol: 'TCP' }],
    },
  });
}

function workerContainer(image: string): IContainer {
  return {
    name: 'worker',
    image,
    command: ['node', 'bin/flowprior.js', 'worker'],
    ports: [{ name: 'metrics', containerPort: DEPLOY.workerMetricsPort, protocol: 'TCP' }],
    envFrom: [{ configMapRef: { name: DEPLOY.configName } }],
    env: [{ name: 'FLOWPRIOR_BACKEND', value: 'tensorflow-gpu' }, ...secretEnv('worker')],
    resources: {
      requests: { cpu: '2', memory: '8Gi', 'nvidia.com/gpu': '1' },
      limits: { memory: '16Gi', 'nvidia.com/gpu': '1' },
    },
    // No preStop hook: SIGTERM itself starts the drain (stop taking jobs, finish the held batch); a
    // preStop sleep would only keep the worker pulling new jobs while it is being removed.
    securityContext: containerSecurity,
    volumeMounts: [tmpMount],
  };
}

function workerDeployment(image: string): Deployment {
  return new Deployment({
    metadata: { name: DEPLOY.workerName, labels: labels('worker') },
    spec: {
      // KEDA owns the replica count (0 … maxWorkers); leaving replicas out keeps kubectl apply from resetting it.
      selector: { matchLabels: labels('worker') },
      // Replace one worker at a time without needing a spare GPU for a surge pod.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      template: {
        metadata: {
          labels: labels('worker'),
          annotations: {
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(DEPLOY.workerMetricsPort),
            'prometheus.io/path': '/metrics',
          },
        },
        spec: {
          automountServiceAccountToken: false,
          securityContext: podSecurity,
          terminationGracePeriodSeconds: DEPLOY.workerGraceSeconds,
          nodeSelector: { ...DEPLOY.gpuNodeSelector },
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
          containers: [workerContainer(image)],
          volumes: [tmpVolume],
        },
      },
    },
  });
}

function disruptionBudget(component: Component): PodDisruptionBudget {
  return new PodDisruptionBudget({
    metadata: { name: `flowprior-${component}`, labels: labels(component) },
    spec: { maxUnavailable: 1, selector: { matchLabels: labels(component) } },
  });
}

/** KEDA's operator runs in its own namespace, so the API is addressed by its cluster DNS name. */
export function queueUrl(): string {
  return `http://${DEPLOY.apiName}.${DEPLOY.namespace}.svc.cluster.local:${DEPLOY.apiPort}/v1/queue`;
}

/** The scaler's own copy of one of the API keys (the KEDA operator reads it, no pod does). */
function kedaSecret(): Secret {
  return new Secret({
    metadata: { name: DEPLOY.kedaSecretName },
    type: 'Opaque',
    stringData: { token: KEDA_KEY_PLACEHOLDER },
  });
}

function triggerAuthentication(): TriggerAuthentication {
  return new TriggerAuthentication({
    metadata: { name: 'flowprior-queue' },
    spec: { secretTargetRef: [{ parameter: 'token', name: DEPLOY.kedaSecretName, key: 'token' }] },
  });
}

function scaledObject(): ScaledObject {
  return new ScaledObject({
    metadata: { name: DEPLOY.workerName },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: DEPLOY.workerName },
      minReplicaCount: 0,
      maxReplicaCount: DEPLOY.maxWorkers,
      pollingInterval: 15,
      cooldownPeriod: 300,
      triggers: [
        {
          type: 'metrics-api',
          name: 'queue-depth',
          // total = waiting + prioritized + active: a pod busy with a batch keeps counting, so scaling in
          // never targets work that is still running, and zero means truly idle.
          metadata: {
            url: queueUrl(),
            valueLocation: 'total',
            targetValue: String(DEPLOY.jobsPerWorker),
            activationTargetValue: '0',
            // The API takes keys as "Authorization: Bearer <key>"; the scaler sends its token that way.
            authMode: 'bearer',
          },
          authenticationRef: { name: 'flowprior-queue' },
        },
      ],
    },
  });
}

interface Kustomization {
  apiVersion: 'kustomize.config.k8s.io/v1beta1';
  kind: 'Kustomization';
  namespace: string;
  resources: string[];
  labels: Array<{ pairs: Record<string, string>; includeSelectors: boolean }>;
  images: Array<{ name: string; newName: string; newTag: string }>;
}

/** A file of k8s/ and the objects it holds, in order. */
export interface ManifestFile {
  file: string;
  objects: Array<{ toJSON(): unknown; validate(): void }>;
}

export function buildManifests(opts: ManifestOptions = {}): ManifestFile[] {
  const version = opts.version ?? packageVersion();
  const apiImage = `flowprior-api:${version}`;
  const workerImage = `flowprior-worker:${version}`;
  return [
    { file: 'namespace.yaml', objects: [namespace()] },
    { file: 'config.yaml', objects: [configMap(), secret()] },
    { file: 'api.yaml', objects: [apiDeployment(apiImage), apiService(), disruptionBudget('api')] },
    { file: 'worker.yaml', objects: [workerDeployment(workerImage), disruptionBudget('worker')] },
    { file: 'keda.yaml', objects: [kedaSecret(), triggerAuthentication(), scaledObject()] },
  ];
}

export function buildKustomization(files: ManifestFile[], opts: ManifestOptions = {}): Kustomization {
  const version = opts.version ?? packageVersion();
  return {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    namespace: DEPLOY.namespace,
    resources: files.map((f) => f.file),
    labels: [{ pairs: { 'app.kubernetes.io/part-of': 'flowprior' }, includeSelectors: false }],
    images: ['flowprior-api', 'flowprior-worker'].map((name) => ({ name, newName: name, newTag: version })),
  };
}

const HEADER = '# Generated by scripts/write-manifests.ts (npm run manifests). Do not edit by hand.\n';

function toYaml(docs: unknown[]): string {
  return HEADER + docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
}

/** File name → exact YAML text, for every file of k8s/. Validates every object first. */
export function renderManifests(opts: ManifestOptions = {}): Map<string, string> {
  const files = buildManifests(opts);
  const out = new Map<string, string>();
  for (const f of files) {
    for (const o of f.objects) o.validate();
    out.set(f.file, toYaml(f.objects.map((o) => o.toJSON())));
  }
  out.set('kustomization.yaml', toYaml([buildKustomization(files, opts)]));
  return out;
}

/** Files whose committed text differs from what would be generated (missing files included). */
export function staleManifests(dir = K8S_DIR, opts: ManifestOptions = {}): string[] {
  const stale: string[] = [];
  for (const [file, text] of renderManifests(opts)) {
    const path = join(dir, file);
    if (!existsSync(path) || readFileSync(path, 'utf8') !== text) stale.push(file);
  }
  return stale;
}

function main(argv: string[]): number {
  if (argv.includes('--check')) {
    const stale = staleManifests();
    if (stale.length) {
      process.stderr.write(`k8s/ is stale (${stale.join(', ')}): run npm run manifests\n`);
      return 1;
    }
    process.stdout.write('k8s/ is up to date\n');
    return 0;
  }
  mkdirSync(K8S_DIR, { recursive: true });
  const rendered = renderManifests();
  for (const [file, text] of rendered) writeFileSync(join(K8S_DIR, file), text);
  process.stdout.write(`wrote ${[...rendered.keys()].map((f) => `k8s/${f}`).join(', ')}\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
