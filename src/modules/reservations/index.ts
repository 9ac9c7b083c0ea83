/**
 * The reservations module's public interface: the service and the per-request loaders. Other
 * modules import reservations only from here. Reservations depend on inventory and the stock core.
 * Resolvers are not exported: src/server/schema.ts registers them.
 */
export { ReservationService } from './reservation.service';
export { lineById, linesByReservationId, reservationById } from './loaders';
