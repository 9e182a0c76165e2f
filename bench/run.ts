// `npm run bench [-- --quick] [-- --only engine,solve,baselines,service]`: every benchmark in one run, each printing
// its table and writing bench/results/<name>.json, plus bench/results/all.json.
import { printRows, writeRows, type Row } from './table.ts';

const SUITES: Record<string, () => Promise<(o: { quick: boolean }) => Promise<Row[]>>> = {
  engine: async () => (await import('./engine.ts')).benchEngine,
  solve: async () => (await import('./solve.ts')).benchSolve,
  baselines: async () => (await import('./baselines.ts')).benchBaselines,
  service: async () => (await import('./service.ts')).benchService,
};

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((a) => a.startsWith('--only'));
const only = onlyArg ? (onlyArg.includes('=') ? onlyArg.split('=')[1]! : args[args.indexOf(onlyArg) + 1]!).split(',') : Object.keys(SUITES);
const all: Record<string, Row[]> = {};
for (const name of only) {
  const load = SUITES[name];
  if (!load) {
    process.stderr.write(`unknown suite ${name}; one of ${Object.keys(SUITES).join(', ')}\n`);
    process.exit(2);
  }
  const rows = await (await load())({ quick });
  printRows(name, rows);
  writeRows(name, rows);
  all[name] = rows;
}
process.stdout.write(`\nwrote ${writeRows('all', Object.values(all).flat())}\n`);
