import { runImportCommand, IMPORT_USAGE } from '../../models/import_command.ts';
import { initEngine } from '../../engine/index.ts';

async function run(kind: 'glowip' | 'dcgan', argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(IMPORT_USAGE[kind] + '\n');
    return 0;
  }
  await initEngine();
  const cfg = await runImportCommand(kind, argv);
  process.stderr.write(`imported ${cfg.kind} model "${cfg.name}"\n`);
  return 0;
}

export const importGlowipCommand = (argv: string[]) => run('glowip', argv);
export const importDcganCommand = (argv: string[]) => run('dcgan', argv);
