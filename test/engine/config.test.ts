import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultThreads, planEngine } from '../../src/engine/config.ts';

describe('planEngine', () => {
  it('tries every backend fastest first when nothing is requested', () => {
    const plan = planEngine({}, {});
    assert.deepEqual(plan.candidates, ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
    assert.equal(plan.requested, null);
    assert.equal(plan.threads, defaultThreads());
  });

  it('starts from FLOWPRIOR_BACKEND and keeps the slower ones as fallbacks', () => {
    assert.deepEqual(planEngine({}, { FLOWPRIOR_BACKEND: 'tensorflow' }).candidates, ['tensorflow', 'wasm', 'cpu']);
    assert.deepEqual(planEngine({}, { FLOWPRIOR_BACKEND: 'wasm' }).candidates, ['wasm', 'cpu']);
    assert.deepEqual(planEngine({}, { FLOWPRIOR_BACKEND: ' CPU ' }).candidates, ['cpu']);
  });

  it('lets options override the environment', () => {
    const plan = planEngine({ backend: 'cpu', threads: 3 }, { FLOWPRIOR_BACKEND: 'wasm', FLOWPRIOR_THREADS: '8' });
    assert.deepEqual(plan.candidates, ['cpu']);
    assert.equal(plan.requested, 'cpu');
    assert.equal(plan.threads, 3);
  });

  it('reads FLOWPRIOR_THREADS', () => {
    assert.equal(planEngine({}, { FLOWPRIOR_THREADS: '2' }).threads, 2);
    assert.equal(planEngine({}, { FLOWPRIOR_THREADS: '' }).threads, defaultThreads());
  });

  it('reads the threaded-wasm start-up budget', () => {
    assert.equal(planEngine({}, {}).wasmInitTimeoutMs, 30_000);
    assert.equal(planEngine({}, { FLOWPRIOR_WASM_INIT_TIMEOUT_MS: '1500' }).wasmInitTimeoutMs, 1500);
    assert.throws(() => planEngine({}, { FLOWPRIOR_WASM_INIT_TIMEOUT_MS: '0' }), /FLOWPRIOR_WASM_INIT_TIMEOUT_MS/);
  });

  it('tries only the requested backend when strict', () => {
    assert.deepEqual(planEngine({ backend: 'tensorflow-gpu', strict: true }, {}).candidates, ['tensorflow-gpu']);
  });

  it('rejects unknown backends and bad thread counts instead of guessing', () => {
    assert.throws(() => planEngine({}, { FLOWPRIOR_BACKEND: 'webgl' }), /FLOWPRIOR_BACKEND="webgl" is not one of/);
    for (const bad of ['0', '-1', '1.5', 'two', '1000']) {
      assert.throws(() => planEngine({}, { FLOWPRIOR_THREADS: bad }), /FLOWPRIOR_THREADS/);
    }
    assert.throws(() => planEngine({ threads: 0 }, {}), /threads/);
  });
});
