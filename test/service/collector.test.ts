import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchCollector } from '../../src/service/worker/collector.ts';

interface Item {
  key: string;
  x: number;
}

/** A collector whose batches compute x² for each item and record what ran together. */
function squares(maxBatch: number, waitMs: number) {
  const batches: Array<{ key: string; xs: number[] }> = [];
  let running = 0;
  let maxRunning = 0;
  const c = new BatchCollector<Item, number>({
    maxBatch,
    waitMs,
    keyOf: (i) => i.key,
    run: async (items, key) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      batches.push({ key, xs: items.map((i) => i.x) });
      await new Promise((r) => setTimeout(r, 20));
      running--;
      return items.map((i) => (i.x < 0 ? new RangeError(`negative ${i.x}`) : i.x * i.x));
    },
  });
  return { c, batches, maxRunning: () => maxRunning };
}

test('six compatible items submitted together run as one batch; each gets its own result', async () => {
  const { c, batches } = squares(6, 10_000);
  const results = await Promise.all([1, 2, 3, 4, 5, 6].map((x) => c.submit({ key: 'a', x })));
  assert.deepEqual(results, [1, 4, 9, 16, 25, 36]);
  assert.deepEqual(batches, [{ key: 'a', xs: [1, 2, 3, 4, 5, 6] }], 'flushed on reaching maxBatch, not after the wait');
});

test('a partial group flushes after the wait; a seventh item starts a new batch', async () => {
  const { c, batches } = squares(6, 30);
  const results = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((x) => c.submit({ key: 'a', x })));
  assert.deepEqual(results, [1, 4, 9, 16, 25, 36, 49]);
  assert.deepEqual(batches.map((b) => b.xs), [[1, 2, 3, 4, 5, 6], [7]]);
});

test('different keys never share a batch, and batches run one at a time', async () => {
  const { c, batches, maxRunning } = squares(6, 20);
  const items = [
    { key: 'glow|lbfgs|600', x: 1 },
    { key: 'glow|adam|600', x: 2 },
    { key: 'glow|lbfgs|600', x: 3 },
    { key: 'dcgan|lbfgs|600', x: 4 },
  ];
  const results = await Promise.all(items.map((i) => c.submit(i)));
  assert.deepEqual(results, [1, 4, 9, 16]);
  assert.equal(batches.length, 3);
  const byKey = Object.fromEntries(batches.map((b) => [b.key, b.xs]));
  assert.deepEqual(byKey, { 'glow|lbfgs|600': [1, 3], 'glow|adam|600': [2], 'dcgan|lbfgs|600': [4] });
  assert.equal(maxRunning(), 1);
  await c.idle();
  assert.equal(c.waiting, 0);
});

test('an Error entry fails only its item; a throwing batch fails all of its items', async () => {
  const { c } = squares(3, 10);
  const settled = await Promise.allSettled([2, -1, 3].map((x) => c.submit({ key: 'a', x })));
  assert.deepEqual(settled.map((s) => s.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.match(String((settled[1] as PromiseRejectedResult).reason), /negative -1/);

  const failing = new BatchCollector<Item, number>({
    maxBatch: 2,
    waitMs: 10,
    keyOf: (i) => i.key,
    run: async () => {
      throw new Error('device lost');
    },
  });
  const r = await Promise.allSettled([1, 2].map((x) => failing.submit({ key: 'k', x })));
  assert.deepEqual(r.map((s) => s.status), ['rejected', 'rejected']);
});

test('flushAll sends open groups at once (shutdown)', async () => {
  const { c, batches } = squares(6, 60_000);
  const p = Promise.all([c.submit({ key: 'a', x: 2 }), c.submit({ key: 'b', x: 3 })]);
  assert.equal(c.waiting, 2);
  c.flushAll();
  assert.deepEqual(await p, [4, 9]);
  assert.equal(batches.length, 2);
});

test('maxBatchOf caps the group an item opens: items with a smaller cap flush in smaller batches', async () => {
  const batches: number[][] = [];
  const c = new BatchCollector<Item & { cap?: number }, number>({
    maxBatch: 6,
    waitMs: 10_000,
    keyOf: (i) => (i.cap ? `${i.key}#${i.cap}` : i.key),
    maxBatchOf: (i) => i.cap ?? 6,
    run: async (items) => {
      batches.push(items.map((i) => i.x));
      return items.map((i) => i.x);
    },
  });
  const capped = [1, 2, 3, 4].map((x) => c.submit({ key: 'a', x, cap: 2 }));
  const full = [5, 6, 7, 8, 9, 10].map((x) => c.submit({ key: 'a', x }));
  assert.deepEqual(await Promise.all([...capped, ...full]), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(batches, [[1, 2], [3, 4], [5, 6, 7, 8, 9, 10]]);
});
