import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../paths.ts';

/** `flowprior bench [--quick] [--only a,b]`: the same as `npm run bench`. */
export async function benchCommand(argv: string[]): Promise<number> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(PACKAGE_ROOT, 'bench', 'run.ts'), ...argv], { stdio: 'inherit', cwd: PACKAGE_ROOT });
  return r.status ?? 1;
}
