import { DateTimeISOResolver } from 'graphql-scalars';

/** ISO-8601 date-time (UTC). */
export const DateTime = DateTimeISOResolver;
