import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UsageError } from '../../src/cli/args.ts';
import { parseDcganArgs, parseGlowArgs, trainCommand } from '../../src/cli/commands/train.ts';
import { initEngine } from '../../src/engine/index.ts';
import { Glow } from '../../src/models/glow/glow.ts';
import { loadModel } from '../../src/models/store.ts';
import { tempDir, writeFixtureImages } from './helpers.ts';

let tmp: Awaited<ReturnType<typeof tempDir>>;
before(async () => {
  await initEngine({ log: false });
  tmp = await tempDir('train-cli');
  await writeFixtureImages(join(tmp.path, 'train'), 4, 16, 41);
});
after(async () => tmp.cleanup());

const usage = (option: string) => (e: Error) => e instanceof UsageError && e.message.includes(option);

describe('flowprior train options', () => {
  it('parses the Glow options into a request; unset options stay undefined (defaults or the checkpoint decide)', () => {
    const r = parseGlowArgs(['--data', 'd', '--out', 'o', '--K', '4', '--L', '3', '--hidden', '64', '--lr', '5e-4', '--no-flip', '--val-every', '0']);
    assert.ok(r !== 'help');
    assert.deepEqual([r.K, r.L, r.hidden, r.lr, r.flip, r.valEvery, r.batch, r.resume], [4, 3, 64, 5e-4, false, 0, undefined, false]);
    const d = parseDcganArgs(['--data', 'd', '--out', 'o', '--beta1', '0.5', '--ngf', '32']);
    assert.ok(d !== 'help');
    assert.deepEqual([d.beta1, d.ngf, d.flip], [0.5, 32, undefined]);
  });

  it('rejects bad options with a usage error that names the option', async () => {
    const glow = ['glow', '--data', 'd', '--out', 'o'];
    await assert.rejects(trainCommand([...glow, '--batch', '0']), usage('--batch'));
    await assert.rejects(trainCommand([...glow, '--lr', '-1']), usage('--lr'));
    await assert.rejects(trainCommand([...glow, '--K', 'eight']), usage('--K'));
    await assert.rejects(trainCommand([...glow, '--ema', '1']), usage('--ema'));
    await assert.rejects(trainCommand([...glow, '--bogus', '1']), usage('bogus'));
    await assert.rejects(trainCommand(['glow', '--out', 'o']), usage('--data'));
    await assert.rejects(trainCommand(['dcgan', '--data', 'd', '--out', 'o', '--beta1', '2']), usage('--beta1'));
    await assert.rejects(trainCommand(['vae', '--data', 'd']), usage('vae'));
  });

  it('turns setup problems into usage errors: a missing folder, a batch that would overflow the wasm heap', async () => {
    await assert.rejects(trainCommand(['glow', '--data', join(tmp.path, 'missing'), '--out', join(tmp.path, 'o1'), '--quiet']), usage('missing'));
    const big = ['glow', '--data', join(tmp.path, 'train'), '--out', join(tmp.path, 'o2'), '--quiet', '--K', '8', '--L', '4', '--hidden', '128'];
    await assert.rejects(trainCommand([...big, '--batch', '4000']), usage('--batch'));
    await assert.rejects(trainCommand([...big, '--batch', '2', '--val-batch', '4000']), usage('--val-batch'));
  });

  it('trains end to end and leaves a model directory that loadModel reads', async () => {
    const out = join(tmp.path, 'model');
    const code = await trainCommand(['glow', '--data', join(tmp.path, 'train'), '--out', out, '--K', '1', '--L', '2', '--hidden', '4', '--batch', '2', '--steps', '2', '--samples', '2', '--quiet']);
    assert.equal(code, 0);
    const model = await loadModel(out);
    assert.ok(model instanceof Glow);
    assert.deepEqual([model.config.K, model.config.L, model.config.hidden, model.config.size], [1, 2, 4, 16]);
    model.dispose();
  });
});
