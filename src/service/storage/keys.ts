/** The files of one job in the result store. */
export const RESULT_FILES = ['result.png', 'panel.png', 'metrics.json'] as const;
export type ResultFile = (typeof RESULT_FILES)[number];

export interface JobKeys {
  input: string;
  result: string;
  panel: string;
  metrics: string;
}

export function jobKeys(jobId: string): JobKeys {
  const base = `jobs/${jobId}`;
  return { input: `${base}/input.json`, result: `${base}/result.png`, panel: `${base}/panel.png`, metrics: `${base}/metrics.json` };
}

export function resultKey(jobId: string, file: ResultFile): string {
  return `jobs/${jobId}/${file}`;
}
