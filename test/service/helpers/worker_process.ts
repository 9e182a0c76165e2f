// A worker in its own process, for fault tests that kill it. Configuration from the environment (as in
// production) plus FP_TEST_QUEUE_PREFIX, the Redis key prefix of the test's queue.
import { loadConfig } from '../../../src/service/config.ts';
import { startWorker } from '../../../src/service/runtime.ts';

const config = loadConfig(process.env, { mode: 'worker' });
const running = await startWorker(config, { queuePrefix: process.env.FP_TEST_QUEUE_PREFIX });
process.stdout.write('worker-ready\n');
process.once('SIGTERM', () => {
  running.close().then(() => process.exit(0));
});
