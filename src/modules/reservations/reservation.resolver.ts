import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../../graphql/context';
import { decodeId, toGlobalId } from '../../graphql/ids';
import { InventoryLevel } from '../inventory/graphql';
import {
  Reservation,
  ReservationLine,
  ReservationPayload,
  InventoryReserveInput,
  ReservationExtendInput,
  ReservationSettleInput,
} from './reservation.types';
import { ReservationService, type ReservationLineRow, type ReservationResult, type ReservationRow } from './reservation.service';
import { levelById } from '../inventory';
import { linesByReservationId, reservationById } from './loaders';

type ReservationView = ReservationRow & { lines?: ReservationLineRow[] };

const payload = (r: ReservationResult) => ({
  reservation: r.reservation ? { ...r.reservation, lines: r.lines } : null,
  userErrors: r.userErrors,
  idempotentReplay: !!r.replayed,
});

@Resolver(() => Reservation)
export class ReservationResolver {
  @FieldResolver(() => ID, { description: 'Opaque global ID.' })
  id(@Root() r: ReservationView): string {
    return toGlobalId('Reservation', r.id);
  }

  @FieldResolver(() => [ReservationLine], { description: 'The held lines, in request order.' })
  lines(@Root() r: ReservationView, @Ctx() ctx: Context) {
    return r.lines ?? linesByReservationId(ctx).load(r.id);
  }

  @Authorized('inventory:read', 'inventory:reserve')
  @Query(() => Reservation, { nullable: true, description: 'A reservation by global id.' })
  reservation(@Ctx() ctx: Context, @Arg('id', () => ID, { description: 'Global id.' }) id: string) {
    const raw = decodeId(id, 'Reservation');
    return raw ? reservationById(ctx).load(raw) : null;
  }

  @Authorized('inventory:reserve')
  @Mutation(() => ReservationPayload, { description: 'Holds stock for a cart or order until it is released, committed or expires.' })
  async inventoryReserve(
    @Ctx() ctx: Context,
    @Arg('input', () => InventoryReserveInput, { description: 'The lines to hold.' }) input: InventoryReserveInput,
  ) {
    return payload(await new ReservationService(ctx.app).reserve(ctx.auth!, input));
  }

  @Authorized('inventory:reserve')
  @Mutation(() => ReservationPayload, { description: 'Returns held units to available (whole reservation or per line).' })
  async reservationRelease(
    @Ctx() ctx: Context,
    @Arg('input', () => ReservationSettleInput, { description: 'What to release.' }) input: ReservationSettleInput,
  ) {
    return payload(await new ReservationService(ctx.app).release(ctx.auth!, input));
  }

  @Authorized('inventory:reserve')
  @Mutation(() => ReservationPayload, {
    description: 'Fulfils held units: onHand and reserved both fall. After expiry it succeeds only while the stock is still available.',
  })
  async reservationCommit(
    @Ctx() ctx: Context,
    @Arg('input', () => ReservationSettleInput, { description: 'What to commit.' }) input: ReservationSettleInput,
  ) {
    return payload(await new ReservationService(ctx.app).commit(ctx.auth!, input));
  }

  @Authorized('inventory:reserve')
  @Mutation(() => ReservationPayload, {
    description:
      'Renews an active hold (a cart that stays active): it lasts ttlSeconds from now, never less than before. RESERVATION_EXPIRED once it has expired.',
  })
  async reservationExtend(
    @Ctx() ctx: Context,
    @Arg('input', () => ReservationExtendInput, { description: 'What to renew, and for how long.' }) input: ReservationExtendInput,
  ) {
    return payload(await new ReservationService(ctx.app).extend(ctx.auth!, input));
  }
}

@Resolver(() => ReservationLine)
export class ReservationLineResolver {
  @FieldResolver(() => ID, { description: 'Opaque global ID.' })
  id(@Root() l: ReservationLineRow): string {
    return toGlobalId('ReservationLine', l.id);
  }

  @FieldResolver(() => InventoryLevel, { description: 'The level the units are held on.' })
  inventoryLevel(@Root() l: ReservationLineRow, @Ctx() ctx: Context) {
    return levelById(ctx).load(l.inventoryLevelId);
  }
}
