/**
 * The store's settings (one row per store, `stores`): today the default allocation strategy of
 * reservation lines without a warehouse (allocate.ts), which a request may override. Plain CRUD
 * through the typed client; the reservation path reads the strategy with its candidates (reserve.ts).
 */
import type { PrismaClient } from '../../generated/prisma/client';
import type { AllocationStrategy } from './reservation.model';

export interface StoreSettings {
  allocationStrategy: AllocationStrategy;
}

export interface StoreSettingsInput {
  /** Omitted or null: unchanged. */
  allocationStrategy?: AllocationStrategy | null;
}

export async function storeSettings(prisma: PrismaClient, storeId: string): Promise<StoreSettings> {
  const s = await prisma.store.findUniqueOrThrow({ where: { id: storeId }, select: { allocationStrategy: true } });
  return { allocationStrategy: s.allocationStrategy };
}

export async function updateStoreSettings(prisma: PrismaClient, storeId: string, input: StoreSettingsInput): Promise<StoreSettings> {
  const s = await prisma.store.update({
    where: { id: storeId },
    data: { ...(input.allocationStrategy != null ? { allocationStrategy: input.allocationStrategy } : {}) },
    select: { allocationStrategy: true },
  });
  return { allocationStrategy: s.allocationStrategy };
}
