/** Failure reasons that mean "cancelled by the client" start with this, so a failed job can be shown as cancelled. */
export const CANCELLED_REASON = 'cancelled by the client';

export function isCancelledReason(reason: string | null | undefined): boolean {
  return typeof reason === 'string' && reason.startsWith(CANCELLED_REASON);
}
