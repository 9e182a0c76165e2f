import type { LatentPrior } from '../../models/prior.ts';
import type { LoadPrior } from './types.ts';

/** Loads each model once per process; a failed load is forgotten so that a later job may try again. */
export class ModelCache {
  private readonly models = new Map<string, Promise<LatentPrior>>();

  constructor(private readonly load: LoadPrior) {}

  get(name: string): Promise<LatentPrior> {
    let p = this.models.get(name);
    if (!p) {
      p = this.load(name);
      this.models.set(name, p);
      p.catch(() => this.models.delete(name));
    }
    return p;
  }

  loaded(): string[] {
    return [...this.models.keys()];
  }

  async dispose(): Promise<void> {
    const all = [...this.models.values()];
    this.models.clear();
    for (const p of all) {
      try {
        (await p).dispose();
      } catch {
        // a model that never loaded has nothing to free
      }
    }
  }
}
