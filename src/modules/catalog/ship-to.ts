/**
 * Where a warehouse ships to, pure: ISO 3166-1 alpha-2 country codes and a few built-in zones.
 *
 * The rule (docs/API.md, "Allocation"): a warehouse that declares neither countries nor zones
 * serves every destination; otherwise it serves a country that it lists, or that belongs to one of
 * the zones it lists. A reservation without `shipTo` may be served by any warehouse.
 */

/** The 249 officially assigned ISO 3166-1 alpha-2 codes. */
const ISO_3166_ALPHA2 = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ ' +
    'CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR ' +
    'GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP ' +
    'KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT ' +
    'MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW ' +
    'SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ ' +
    'UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW'
  ).split(' '),
);

const EU = 'AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK'.split(' ');

/** The built-in shipping zones and their member countries. */
export const SHIPPING_ZONES = {
  EU,
  EEA: [...EU, 'IS', 'LI', 'NO'],
  DACH: ['DE', 'AT', 'CH'],
  BENELUX: ['BE', 'NL', 'LU'],
  NORDICS: ['DK', 'FI', 'IS', 'NO', 'SE'],
  NORTH_AMERICA: ['US', 'CA', 'MX'],
} as const satisfies Record<string, readonly string[]>;

export type ShippingZone = keyof typeof SHIPPING_ZONES;

/** At most this many countries (and zones) per warehouse. */
export const MAX_SERVED = 250;

/** Whether `code` is an assigned ISO 3166-1 alpha-2 code (upper case, exactly). */
export function isCountryCode(code: string): boolean {
  return ISO_3166_ALPHA2.has(code);
}

export function isShippingZone(zone: string): zone is ShippingZone {
  return Object.prototype.hasOwnProperty.call(SHIPPING_ZONES, zone);
}

/** What a warehouse declares it ships to. */
export interface ServesDeclaration {
  /** Omitted: none declared. */
  serves_countries?: readonly string[] | null;
  serves_zones?: readonly string[] | null;
}

/** Whether a warehouse with this declaration serves `country` (null: no destination given, always). */
export function servesCountry(w: ServesDeclaration, country: string | null | undefined): boolean {
  const countries = w.serves_countries ?? [];
  const zones = w.serves_zones ?? [];
  if (country == null || (countries.length === 0 && zones.length === 0)) return true;
  if (countries.includes(country)) return true;
  return zones.some((z) => isShippingZone(z) && (SHIPPING_ZONES[z] as readonly string[]).includes(country));
}
