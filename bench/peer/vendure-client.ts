/**
 * What `npm run bench:vendure` sends to Vendure's Admin API, as an integration would: log in as the
 * superadmin (bearer token), set up the one tax zone Vendure needs before it creates a variant, seed
 * the catalogue, and the request bodies of the measured operations.
 */

export interface VendureCatalogue {
  /** Variant ids, index i ↔ sku `BENCH-<i>` (the same SKUs as the gateway's seed). */
  variants: string[];
  /** The variant of the "sell 1" trial. */
  sellVariant: string;
}

export class VendureAdmin {
  token = '';
  constructor(readonly url: string) {}

  headers(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  async gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const r = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...this.headers() },
      body: JSON.stringify({ query, variables }),
    });
    const t = r.headers.get('vendure-auth-token');
    if (t) this.token = t;
    const body = (await r.json()) as { data?: T; errors?: unknown };
    if (r.status !== 200 || body.errors || !body.data) {
      throw new Error(`Vendure ${query.slice(0, 60).replace(/\s+/g, ' ')}…: HTTP ${r.status} ${JSON.stringify(body).slice(0, 500)}`);
    }
    return body.data;
  }

  /** Superadmin login; Vendure answers with the session token in the vendure-auth-token header. */
  async login(password: string): Promise<void> {
    const d = await this.gql<{ login: { id?: string; message?: string } }>(
      `mutation($p: String!) { login(username: "superadmin", password: $p) { ... on CurrentUser { id } ... on ErrorResult { message } } }`,
      { p: password },
    );
    if (!d.login.id || !this.token) throw new Error(`Vendure login failed: ${JSON.stringify(d)}`);
  }

  /** A country, a zone, a default tax category and rate, and the zone as the channel's defaults. */
  async setupTax(): Promise<void> {
    const { createCountry } = await this.gql<{ createCountry: { id: string } }>(
      `mutation { createCountry(input: { code: "GB", enabled: true, translations: [{ languageCode: en, name: "United Kingdom" }] }) { id } }`,
    );
    const { createZone } = await this.gql<{ createZone: { id: string } }>(
      `mutation($m: [ID!]) { createZone(input: { name: "Bench", memberIds: $m }) { id } }`,
      { m: [createCountry.id] },
    );
    const { activeChannel } = await this.gql<{ activeChannel: { id: string } }>(`{ activeChannel { id } }`);
    await this.gql(
      `mutation($i: UpdateChannelInput!) { updateChannel(input: $i) { ... on Channel { id } ... on ErrorResult { message } } }`,
      { i: { id: activeChannel.id, defaultTaxZoneId: createZone.id, defaultShippingZoneId: createZone.id } },
    );
    const { createTaxCategory } = await this.gql<{ createTaxCategory: { id: string } }>(
      `mutation { createTaxCategory(input: { name: "Standard", isDefault: true }) { id } }`,
    );
    await this.gql(`mutation($i: CreateTaxRateInput!) { createTaxRate(input: $i) { id } }`, {
      i: { name: 'Standard', enabled: true, value: 20, categoryId: createTaxCategory.id, zoneId: createZone.id },
    });
  }

  /**
   * `skus.length` single-variant products (stock in the default stock location), `batch` products
   * per request (aliased createProduct mutations, then one createProductVariants for the batch).
   */
  async createProducts(skus: string[], stockOf: (sku: string) => number, batch = 50): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < skus.length; i += batch) {
      const part = skus.slice(i, i + batch);
      const doc = `mutation { ${part
        .map(
          (s, j) =>
            `p${j}: createProduct(input: { translations: [{ languageCode: en, name: "Product ${s}", slug: "${s.toLowerCase()}", description: "" }] }) { id }`,
        )
        .join('\n')} }`;
      const products = await this.gql<Record<string, { id: string }>>(doc);
      const input = part.map((sku, j) => ({
        productId: products[`p${j}`].id,
        sku,
        price: 1000,
        stockOnHand: stockOf(sku),
        trackInventory: 'TRUE',
        translations: [{ languageCode: 'en', name: 'Default' }],
      }));
      const { createProductVariants } = await this.gql<{ createProductVariants: { id: string; sku: string }[] }>(
        `mutation($i: [CreateProductVariantInput!]!) { createProductVariants(input: $i) { id sku } }`,
        { i: input },
      );
      ids.push(...createProductVariants.map((v) => v.id));
    }
    return ids;
  }

  async stockOnHand(variantId: string): Promise<{ stockOnHand: number; stockAllocated: number }> {
    const { productVariant } = await this.gql<{ productVariant: { stockOnHand: number; stockAllocated: number } }>(
      `query($id: ID!) { productVariant(id: $id) { stockOnHand stockAllocated } }`,
      { id: variantId },
    );
    return productVariant;
  }

  async setStockOnHand(variantId: string, stockOnHand: number): Promise<void> {
    await this.gql(UPDATE_STOCK, { i: [{ id: variantId, stockOnHand }] });
  }
}

/** Vendure 3 has no relative stock mutation: stockOnHand is set absolutely (it records the difference as a StockAdjustment). */
export const UPDATE_STOCK = `mutation($i: [UpdateProductVariantInput!]!) { updateProductVariants(input: $i) { id stockOnHand } }`;

export const vendureAdjustBody = (variantId: string, stockOnHand: number) =>
  JSON.stringify({ query: UPDATE_STOCK, variables: { i: [{ id: variantId, stockOnHand }] } });

export const VENDURE_READ_BODY = JSON.stringify({
  query: `query { productVariants(options: { take: 50 }) { items { id sku stockOnHand stockAllocated stockLevels { stockLocationId stockOnHand stockAllocated } } } }`,
});

/**
 * One "sell 1" as a client of the Admin API has to do it (there is no conditional decrement):
 * read stockOnHand, refuse at 0, else write stockOnHand − 1. Resolves true when it sold.
 */
export async function vendureSellOne(v: VendureAdmin, variantId: string): Promise<boolean> {
  const { stockOnHand } = await v.stockOnHand(variantId);
  if (stockOnHand < 1) return false;
  await v.setStockOnHand(variantId, stockOnHand - 1);
  return true;
}
