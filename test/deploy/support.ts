// Readers for the deployment files, shared by the test/deploy tests: a Dockerfile parser, the
// .dockerignore matcher, the compose file as docker-compose itself resolves it, and container
// environments of the Kubernetes manifests.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../scripts/write-manifests.ts';

export { REPO_ROOT };

export interface Instruction {
  name: string;
  args: string;
}

export interface Stage {
  image: string;
  alias: string | null;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults (usable in FROM lines). */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

/** Joins continuation lines, drops comments and parser directives, splits into instructions. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (pending !== '' && line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\S+)\s*(.*)$/s.exec(full);
    if (m) out.push({ name: m[1]!.toUpperCase(), args: m[2]!.trim() });
  }
  return out;
}

function substitute(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => vars[(a ?? b)!] ?? '');
}

export function parseDockerfile(path: string): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions(readFileSync(path, 'utf8'))) {
    if (ins.name === 'FROM') {
      const [image, as, alias] = ins.args.split(/\s+/);
      stages.push({
        image: substitute(image!, globalArgs),
        alias: as?.toUpperCase() === 'AS' ? alias! : null,
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (ins.name === 'ARG') {
        const [k, v] = ins.args.split('=');
        globalArgs[k!] = v ?? '';
      }
    } else {
      stages[stages.length - 1]!.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

/** `ENV A=1 B=2` pairs of one stage (the simple unquoted form these Dockerfiles use). */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of stage.instructions.filter((i) => i.name === 'ENV')) {
    for (const pair of ins.args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** Source paths of the COPY/ADD instructions that read the build context (not another stage). */
export function contextSources(stage: Stage): string[] {
  const out: string[] = [];
  for (const ins of stage.instructions.filter((i) => i.name === 'COPY' || i.name === 'ADD')) {
    const words = ins.args.split(/\s+/);
    if (words.some((w) => w.startsWith('--from='))) continue;
    const paths = words.filter((w) => !w.startsWith('--'));
    out.push(...paths.slice(0, -1));
  }
  return out;
}

/** The exec-form CMD of a stage as an array. */
export function execForm(stage: Stage, name: 'CMD' | 'ENTRYPOINT'): string[] | null {
  const ins = stage.instructions.filter((i) => i.name === name).at(-1);
  return ins ? (JSON.parse(ins.args) as string[]) : null;
}

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Whether a context path reaches the build under .dockerignore rules: the last pattern that matches the
 * path or one of its parent folders decides, `!` patterns re-include.
 */
export function inBuildContext(relPath: string, dockerignore: string): boolean {
  const rules = dockerignore
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => (l.startsWith('!') ? { include: true, re: globToRegExp(clean(l.slice(1))) } : { include: false, re: globToRegExp(clean(l)) }));
  const parts = clean(relPath).split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let included = true;
  for (const rule of rules) {
    if (prefixes.some((p) => rule.re.test(p))) included = rule.include;
  }
  return included;
}

function clean(p: string): string {
  return p.replace(/^\.\//, '').replace(/^\//, '').replace(/\/+$/, '');
}

export function readRepoFile(rel: string): string {
  return readFileSync(join(REPO_ROOT, rel), 'utf8');
}

export const DOCKERFILES = ['docker/Dockerfile.api', 'docker/Dockerfile.worker', 'docker/Dockerfile.worker-cpu'] as const;

/** Apt packages the compose checks need on Debian/Ubuntu (the recommended docker.io engine is not needed). */
export const COMPOSE_INSTALL_HINT = 'apt-get install -y --no-install-recommends docker-compose';

export function findDockerCompose(): string | null {
  const r = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export interface ComposeRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs docker-compose (on the repository's compose file unless `-f` is given in args) with a minimal
 * environment, so the file's own defaults apply whatever the caller's shell exports. Asynchronous so that
 * independent checks run side by side: each start of the Python tool costs seconds on a busy machine.
 */
export function dockerCompose(args: string[], extraEnv: Record<string, string> = {}): Promise<ComposeRun> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: homedir(), ...extraEnv };
  const fileArgs = args.includes('-f') ? [] : ['-f', 'docker-compose.yml'];
  return new Promise((resolve, reject) => {
    const child = spawn('docker-compose', [...fileArgs, ...args], { cwd: REPO_ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string | null>;
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
  deploy?: { resources?: { reservations?: { devices?: Array<{ driver?: string; count?: number | string; capabilities?: string[] }> } } };
  stop_grace_period?: string;
  ports?: string[];
}

export interface ResolvedCompose {
  services: Record<string, ComposeService>;
}

/** The compose file after docker-compose has resolved anchors, merges and variable defaults. */
export async function resolvedCompose(extraEnv: Record<string, string> = {}): Promise<ResolvedCompose> {
  const r = await dockerCompose(['config'], extraEnv);
  if (r.status !== 0) throw new Error(`docker-compose config failed: ${r.stderr}`);
  return parse(r.stdout) as ResolvedCompose;
}

/** Compose durations such as 30m, 1h30m, 90s → seconds. */
export function durationSeconds(d: string): number {
  let total = 0;
  for (const [, n, unit] of d.matchAll(/(\d+(?:\.\d+)?)(h|m|s|ms|us)/g)) {
    const f = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6 }[unit as 'h' | 'm' | 's' | 'ms' | 'us'];
    total += Number(n) * f;
  }
  return total;
}

export function fileExists(rel: string): boolean {
  return existsSync(join(REPO_ROOT, rel));
}
