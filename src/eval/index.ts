// flowprior eval: the paper's experiments as seeded, resumable sweeps (results.csv, summary.csv, plots, grids, report.md).
export { runEval, validateEvalConfig, RESULTS_FILE, TIMINGS_FILE, SUMMARY_FILE, REPORT_FILE, RUN_FILE, MAX_BATCH } from './runner.ts';
export type { EvalDeps, EvalOutcome, SolveFn } from './runner.ts';
export { evalDefaults, initLabel, measurementSettings, solverSettings, DCGAN_DEFAULT_INIT } from './settings.ts';
export type { EvalConfig, EvalInit, MeasurementSetting, SolverSetting } from './settings.ts';
export { RESULT_COLUMNS, TIMING_COLUMNS, SETTING_COLUMNS, CELL_COLUMNS } from './results.ts';
export type { ResultRow, TimingRow } from './results.ts';
export { summarize, summaryCsv, SUMMARY_COLUMNS } from './summary.ts';
export type { SummaryRow } from './summary.ts';
export { paperPsnr, PAPER_CS_PSNR, PAPER_DENOISE, PAPER_INPAINT_PSNR } from './paper_numbers.ts';
export { deriveSeed, cellSeeds } from './seeds.ts';
