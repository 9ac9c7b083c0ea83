import { Field, Int, ObjectType } from 'type-graphql';
import { Access } from '../../graphql/access';
import { DateTime } from '../../graphql/scalars';

@Access({ read: ['inventory:read'] })
@ObjectType({ description: 'Units of an inbound shipment line were received: onHand rose and incoming fell in one change.' })
export class InboundReceivedEvent {
  @Field({ description: 'Position in the store’s event stream: pass it as "after" to resume from here.' })
  cursor!: string;
  @Field(() => DateTime, { description: 'When the receipt was committed.' })
  occurredAt!: Date;
  @Field({ description: 'The shipment’s reference.' })
  reference!: string;
  @Field(() => Int, { description: 'Units received.' })
  quantity!: number;
  @Field(() => Int, { description: 'Units received beyond what was open on the line (allowOverReceipt).' })
  overReceived!: number;
  @Field(() => Int, { description: 'onHand before.' })
  onHandBefore!: number;
  @Field(() => Int, { description: 'onHand after.' })
  onHandAfter!: number;
  @Field(() => Int, { description: 'incoming before.' })
  incomingBefore!: number;
  @Field(() => Int, { description: 'incoming after.' })
  incomingAfter!: number;
  @Field(() => String, { nullable: true, description: 'Who received.' })
  actor!: string | null;
}

@Access({ read: ['inventory:read'] })
@ObjectType({
  description: 'Units of a transfer line left the source (TRANSFER_SHIPPED) or arrived at the destination (TRANSFER_RECEIVED).',
})
export class TransferEvent {
  @Field({ description: 'Position in the store’s event stream: pass it as "after" to resume from here.' })
  cursor!: string;
  @Field(() => DateTime, { description: 'When the change was committed.' })
  occurredAt!: Date;
  @Field(() => String, { nullable: true, description: 'The transfer’s reference.' })
  reference!: string | null;
  @Field(() => Int, { description: 'Units shipped or received.' })
  quantity!: number;
  @Field(() => Int, { description: 'onHand of this level before.' })
  onHandBefore!: number;
  @Field(() => Int, { description: 'onHand of this level after.' })
  onHandAfter!: number;
  @Field(() => Int, { description: 'incoming of this level before.' })
  incomingBefore!: number;
  @Field(() => Int, { description: 'incoming of this level after.' })
  incomingAfter!: number;
  @Field(() => String, { nullable: true, description: 'Who shipped or received.' })
  actor!: string | null;
}
