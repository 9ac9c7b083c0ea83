/**
 * Revocations reach every gateway within a second: `revokeApiKey` stamps `revoked_at` with the
 * database clock and NOTIFYs api_key_revoked; each gateway's watcher wakes on the notification
 * (PostgreSQL), and polls every POLL_MS in any case (a lost notification, or embedded PGlite), then
 * drops the key from the authenticator's cache and closes the key's open sockets.
 */
import type { PrismaClient } from '../../generated/prisma/client';
import { CoalescedLoop } from '../../util/coalesced-loop';

export const REVOCATION_POLL_MS = 400;
/** Revocations are read back this far, so a revocation committed late is not missed. */
const OVERLAP_MS = 10_000;

export class RevocationWatcher {
  private since: Date | null = null;
  private readonly handled = new Map<string, number>();
  private readonly loop: CoalescedLoop;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly onRevoked: (keyIds: string[]) => void,
    warn: (msg: string, err: Error) => void,
  ) {
    this.loop = new CoalescedLoop(
      () => this.check(),
      REVOCATION_POLL_MS,
      (e) => warn('revocation check failed; will retry', e),
    );
  }

  async start(): Promise<void> {
    const [{ now }] = await this.prisma.$queryRaw<{ now: Date }[]>`SELECT now() AS now`;
    this.since = now;
    this.loop.start();
  }

  /** Checks for revocations now (coalesced). */
  poke(): void {
    if (this.since) this.loop.poke();
  }

  private async check(): Promise<void> {
    const from = new Date(this.since!.getTime() - OVERLAP_MS);
    const [row] = await this.prisma.$queryRaw<{ now: Date; ids: string[] }[]>`
      SELECT now() AS now, ARRAY(SELECT id::text FROM api_keys WHERE revoked_at > ${from}) AS ids`;
    this.since = row.now;
    const fresh = row.ids.filter((id) => !this.handled.has(id));
    for (const id of fresh) this.handled.set(id, row.now.getTime());
    for (const [id, at] of this.handled) if (at < row.now.getTime() - 2 * OVERLAP_MS) this.handled.delete(id);
    if (fresh.length) this.onRevoked(fresh);
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
