/** The reservations list, and the reservation of a ledger entry. Thin: parse, call the read service, map. */
import { Arg, Args, Authorized, Ctx, FieldResolver, Query, Resolver, Root } from 'type-graphql';
import { poolTx } from '../../db/tx';
import { PageArgs, pageRequest, toConnection } from '../../graphql/connection';
import type { Context } from '../../graphql/context';
import { storeOf } from '../../graphql/context';
import { decodeIdList } from '../../graphql/ids';
import type { MovementRow } from '../inventory';
import { StockMovement } from '../inventory/graphql';
import { reservationPage } from './reservation.reads';
import type { ReservationStatus } from './reservation.service';
import { Reservation, ReservationConnection, ReservationFilter } from './reservation.types';
import { reservationById } from './loaders';

@Resolver(() => Reservation)
export class ReservationReadResolver {
  @Authorized('inventory:read', 'inventory:reserve')
  @Query(() => ReservationConnection, { description: 'Reservations, newest first unless reverse, keyset-paginated.' })
  async reservations(
    @Ctx() ctx: Context,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('filter', () => ReservationFilter, { nullable: true, description: 'Conditions.' }) filter: ReservationFilter | null,
    @Arg('reverse', () => Boolean, { defaultValue: false, description: 'Oldest first.' }) reverse: boolean,
  ) {
    // Newest first is the natural order here: the keyset sort is descending unless reversed.
    const page = pageRequest(ctx, args, 'Reservation', 'CREATED_AT', !reverse);
    const f = {
      statuses: filter?.statuses as ReservationStatus[] | null | undefined,
      reference: filter?.reference,
      createdAfter: filter?.createdAfter,
      variantIds: decodeIdList(filter?.variantIds, 'Variant', 'filter.variantIds'),
      warehouseIds: decodeIdList(filter?.warehouseIds, 'Warehouse', 'filter.warehouseIds'),
    };
    return toConnection(
      ctx,
      await reservationPage(poolTx(ctx.app.db.pool), storeOf(ctx), f, page),
      'Reservation',
      'CREATED_AT',
      (r) => r.id,
    );
  }
}

/** Ledger entries link to their reservation here: reservations depend on inventory, not the reverse. */
@Resolver(() => StockMovement)
export class StockMovementReservationResolver {
  @FieldResolver(() => Reservation, { nullable: true, description: 'The reservation that made the change, if any.' })
  reservation(@Root() m: MovementRow, @Ctx() ctx: Context) {
    return m.reservationId ? reservationById(ctx).load(m.reservationId) : null;
  }
}
