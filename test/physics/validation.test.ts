import { test } from 'node:test';
import assert from 'node:assert/strict';
import { operatorJsonSchemas, operatorKey, validateOperatorSpec, OPERATOR_TYPES } from '../../src/physics/registry.ts';
import { validateNoiseSpec } from '../../src/physics/noise.ts';
import { ValidationError } from '../../src/errors.ts';
import type { ImageShape } from '../../src/models/prior.ts';

const SHAPE: ImageShape = [64, 64, 3];

function rejects(spec: unknown, field: string, pattern: RegExp, shape: ImageShape = SHAPE): void {
  assert.throws(
    () => validateOperatorSpec(spec, shape),
    (e: unknown) => e instanceof ValidationError && e.field === field && pattern.test(e.message),
    JSON.stringify(spec),
  );
}

test('valid specs pass', () => {
  for (const spec of [
    { type: 'identity' },
    { type: 'gaussian', m: 12288, seed: 0 },
    { type: 'gaussian', m: 1, seed: 4294967295 },
    { type: 'mask', box: [22, 22, 19, 19] },
    { type: 'mask', fraction: 0.9, seed: 1 },
    { type: 'downsample', factor: 4 },
    { type: 'blur', sigma: 2 },
    { type: 'blur', sigma: 16 },
    { type: 'blur', sigma: 1.5, size: 9 },
  ]) {
    validateOperatorSpec(spec, SHAPE);
  }
});

test('invalid specs name the field and the limit', () => {
  rejects(null, 'operator', /object/);
  rejects({ type: 'fourier' }, 'operator.type', /one of identity, gaussian, mask, downsample, blur/);
  rejects({ type: 'gaussian', m: 12289, seed: 1 }, 'operator.m', /between 1 and 12288/);
  rejects({ type: 'gaussian', m: 0, seed: 1 }, 'operator.m', /between 1 and 12288/);
  rejects({ type: 'gaussian', m: 2.5, seed: 1 }, 'operator.m', /integer/);
  rejects({ type: 'gaussian', m: 10 }, 'operator.seed', /integer/);
  rejects({ type: 'gaussian', m: 10, seed: -1 }, 'operator.seed', /between 0 and 4294967295/);
  rejects({ type: 'gaussian', m: 10, seed: 1, sigma: 2 }, 'operator.sigma', /unknown field/);
  rejects({ type: 'mask' }, 'operator.box', /at least one of/);
  rejects({ type: 'mask', box: [60, 0, 5, 5] }, 'operator.box[2]', /between 1 and 4/);
  rejects({ type: 'mask', box: [0, 64, 5, 5] }, 'operator.box[1]', /between 0 and 63/);
  rejects({ type: 'mask', box: [1, 2, 3] }, 'operator.box', /row, col, height, width/);
  rejects({ type: 'mask', fraction: 1 }, 'operator.fraction', /less than 1/);
  rejects({ type: 'mask', box: [0, 0, 64, 64] }, 'operator', /removes every pixel/);
  rejects({ type: 'downsample', factor: 3 }, 'operator.factor', /divide/);
  rejects({ type: 'downsample', factor: 128 }, 'operator.factor', /between 1 and 64/);
  rejects({ type: 'blur', sigma: 0 }, 'operator.sigma', /greater than 0/);
  rejects({ type: 'blur', sigma: 1, size: 4 }, 'operator.size', /odd/);
  rejects({ type: 'blur', sigma: 1, size: 201 }, 'operator.size', /between 1 and 127/);
  rejects({ type: 'gaussian', m: 10, seed: 1 }, 'imageShape', /positive integers/, [64, 0, 3]);
});

test('noise specs are validated with field names', () => {
  validateNoiseSpec({ type: 'none' });
  validateNoiseSpec({ type: 'gaussian', sigma: 0.1, seed: 3 });
  validateNoiseSpec({ type: 'gaussian-norm', norm: 0.1, seed: 3 });
  const bad = (noise: unknown, field: string) =>
    assert.throws(() => validateNoiseSpec(noise), (e: unknown) => e instanceof ValidationError && e.field === field);
  bad({ type: 'poisson' }, 'noise.type');
  bad({ type: 'gaussian', sigma: -1, seed: 1 }, 'noise.sigma');
  bad({ type: 'gaussian', sigma: 0.1 }, 'noise.seed');
  bad({ type: 'gaussian-norm', norm: Number.NaN, seed: 1 }, 'noise.norm');
  bad({ type: 'none', sigma: 1 }, 'noise.sigma');
});

test('JSON schemas: one per operator, shape limits filled in when a shape is given', () => {
  const generic = operatorJsonSchemas();
  assert.deepEqual(Object.keys(generic).sort(), [...OPERATOR_TYPES].sort());
  for (const [type, schema] of Object.entries(generic)) {
    assert.equal(schema.type, 'object');
    assert.deepEqual((schema.properties as Record<string, { const: string }>).type.const, type);
    assert.equal(schema.additionalProperties, false);
  }
  const sized = operatorJsonSchemas(SHAPE);
  const m = (sized.gaussian.properties as Record<string, { maximum?: number }>).m!;
  assert.equal(m.maximum, 12288);
  assert.equal(JSON.parse(JSON.stringify(sized)).gaussian.properties.m.maximum, 12288, 'plain JSON');
});

test('operatorKey: equal for the same matrix regardless of key order, different otherwise', () => {
  assert.equal(operatorKey({ type: 'gaussian', m: 5, seed: 1 }), operatorKey({ seed: 1, m: 5, type: 'gaussian' } as never));
  assert.notEqual(operatorKey({ type: 'gaussian', m: 5, seed: 1 }), operatorKey({ type: 'gaussian', m: 5, seed: 2 }));
  const k = operatorKey({ type: 'mask', mask: 'A'.repeat(1000) });
  assert.ok(k.length < 200 && k.includes('sha256:'));
});
