import { UsageError } from './args.ts';

const HELP = `flowprior — inverse problems with an invertible generative prior (Glow)

Usage: flowprior <command> [options]

Commands:
  demo                 solve the paper's problems on the bundled example faces, print PSNR, write panels
  solve                solve one inverse problem from an image (simulated measurements) or given measurements
  eval                 run the paper's experiments as sweeps (CSV, plots, report)
  train glow|dcgan     train a prior (resumable)
  import-glowip        import a reference GlowIP checkpoint: <glowmodel.pt> <configs.json> <outdir>
  import-dcgan         import a reference DCGAN generator: <dcgan_G.pt> <outdir>
  serve [--standalone] run the HTTP API (standalone: API + worker in one process, local results folder)
  worker               run a queue worker that holds the models and solves batches
  bench                run the benchmarks (same as npm run bench)

Run "flowprior <command> --help" for a command's options.`;

type Command = (argv: string[]) => Promise<number | void>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  solve: async () => (await import('./commands/solve.ts')).solveCommand,
  demo: async () => (await import('./commands/demo.ts')).demoCommand,
  eval: async () => (await import('./commands/eval.ts')).evalCommand,
  train: async () => (await import('./commands/train.ts')).trainCommand,
  'import-glowip': async () => (await import('./commands/import.ts')).importGlowipCommand,
  'import-dcgan': async () => (await import('./commands/import.ts')).importDcganCommand,
  serve: async () => (await import('./commands/serve.ts')).serveCommand,
  worker: async () => (await import('./commands/serve.ts')).workerCommand,
  bench: async () => (await import('./commands/bench.ts')).benchCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP + '\n');
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`error: unknown command "${name}"\n\n${HELP}\n`);
    return 2;
  }
  try {
    const code = await (await load())(rest);
    return typeof code === 'number' ? code : 0;
  } catch (err) {
    return reportError(err);
  }
}

/** User-facing failures print one line; only unexpected ones print the stack (with FLOWPRIOR_DEBUG=1). */
function reportError(err: unknown): number {
  const e = err as Error & { field?: string };
  const known = e instanceof UsageError || ['ValidationError', 'ModelError', 'ModelFormatError', 'NotFoundError', 'ConfigError', 'UsageError', 'PayloadTooLargeError'].includes(e?.name);
  const msg = e?.message ?? String(err);
  process.stderr.write(`error: ${msg}\n`);
  if (!known && process.env.FLOWPRIOR_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
  return known ? 2 : 1;
}

const isEntry = process.argv[1] && /(?:main\.ts|flowprior(?:\.js)?)$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`error: ${(err as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
