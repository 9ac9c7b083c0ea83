/**
 * The catalogue module's public interface for services and the data layer: products, variants and
 * warehouses (plain TypeScript, no GraphQL). Other modules import the catalogue only from here or,
 * for its GraphQL types, from ./graphql. The catalogue depends on no other feature module: the
 * stock views of its types (levels, totals, the products list sorted by stock) belong to the
 * inventory module. Resolvers are not exported: src/server/schema.ts registers them.
 */
export * from './catalog.model';
export { createProduct, createVariant, createWarehouse, updateProduct, updateVariant, updateWarehouse } from './catalog.service';
export * from './catalog.loads';
export * from './catalog.reads';
export * from './loaders';
export * from './ship-to';
