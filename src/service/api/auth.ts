import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthError } from '../../errors.ts';

/** Owner id of requests without a key (standalone mode without API_KEYS). */
export const ANONYMOUS = 'anonymous';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Stable, non-reversible id of an API key: what jobs record as their owner and logs show. */
export function keyId(key: string): string {
  return digest(`flowprior-key:${key}`).toString('hex').slice(0, 16);
}

/**
 * Checks bearer tokens against the configured keys. Both sides are hashed to equal length and every key is
 * compared, so the time taken does not depend on how much of a key matched or on which key it was.
 */
export class ApiKeyAuth {
  private readonly digests: Buffer[];
  private readonly ids: string[];

  constructor(keys: string[]) {
    this.digests = keys.map(digest);
    this.ids = keys.map(keyId);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** The owner id of a valid Authorization header; throws AuthError otherwise. */
  authenticate(header: string | undefined): string {
    if (!this.enabled) return ANONYMOUS;
    if (!header) throw new AuthError('missing Authorization: Bearer <API key>');
    const m = /^Bearer\s+(\S{1,512})\s*$/i.exec(header);
    if (!m) throw new AuthError('the Authorization header must be "Bearer <API key>"');
    const presented = digest(m[1]);
    let found = -1;
    for (let i = 0; i < this.digests.length; i++) {
      if (timingSafeEqual(presented, this.digests[i]) && found < 0) found = i;
    }
    if (found < 0) throw new AuthError('unknown API key');
    return this.ids[found];
  }
}
