/**
 * Why stock moved: the database enum "MovementReason" (prisma/schema.prisma), taken from the
 * generated Prisma client so that it is defined once. The GraphQL enum registers this object.
 */
import { MovementReason } from '../../generated/prisma/enums';

export { MovementReason };

/** Every reason, in schema order. */
export const MOVEMENT_REASONS: readonly MovementReason[] = Object.values(MovementReason);
