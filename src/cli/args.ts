import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A user error on the command line: printed as one line, exit code 2, never a stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<const T extends Options>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true as const });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function num(value: string | undefined, name: string, opts: { min?: number; max?: number; int?: boolean } = {}): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (!Number.isFinite(v)) throw new UsageError(`--${name} must be a number, got "${value}"`);
  if (opts.int && !Number.isInteger(v)) throw new UsageError(`--${name} must be an integer, got ${value}`);
  if (opts.min !== undefined && v < opts.min) throw new UsageError(`--${name} must be ≥ ${opts.min}, got ${value}`);
  if (opts.max !== undefined && v > opts.max) throw new UsageError(`--${name} must be ≤ ${opts.max}, got ${value}`);
  return v;
}

export function list(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean);
}
