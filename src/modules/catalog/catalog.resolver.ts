import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../../graphql/context';
import { storeOf } from '../../graphql/context';
import { decodeId, toGlobalId } from '../../graphql/ids';
import type { ProductRow, VariantOption as VariantOptionValue, VariantRow, WarehouseRow } from './catalog.model';
import * as svc from './catalog.service';
import {
  Product,
  ProductCreateInput,
  ProductPayload,
  ProductUpdateInput,
  Variant,
  VariantInput,
  VariantOption,
  VariantPayload,
  VariantUpdateInput,
  Warehouse,
  WarehouseInput,
  WarehousePayload,
} from './catalog.types';
import { productByExternalId, productById, variantById, variantBySku, warehouseByCode, warehouseById } from './loaders';

@Resolver(() => Product)
export class ProductResolver {
  @FieldResolver(() => ID, { description: 'Opaque global ID.' })
  id(@Root() p: ProductRow): string {
    return toGlobalId('Product', p.id);
  }

  @Authorized('inventory:read', 'storefront:read')
  @Query(() => Product, { nullable: true, description: 'A product by global id or by externalId.' })
  async product(
    @Ctx() ctx: Context,
    @Arg('id', () => ID, { nullable: true, description: 'Global id.' }) id?: string,
    @Arg('externalId', () => String, { nullable: true, description: "The merchant's external id or handle." }) externalId?: string,
  ): Promise<ProductRow | null> {
    if (id != null) {
      const raw = decodeId(id, 'Product');
      return raw ? productById(ctx).load(raw) : null;
    }
    return externalId != null ? productByExternalId(ctx).load(externalId) : null;
  }

  @Authorized('catalog:write')
  @Mutation(() => ProductPayload, { description: 'Creates a product with its variants (or one default variant).' })
  async productCreate(
    @Ctx() ctx: Context,
    @Arg('input', () => ProductCreateInput, { description: 'The product.' }) input: ProductCreateInput,
  ) {
    const r = await svc.createProduct(ctx.app.db.prisma, storeOf(ctx), input);
    return { product: r.value, userErrors: r.userErrors };
  }

  @Authorized('catalog:write')
  @Mutation(() => ProductPayload, { description: 'Updates a product.' })
  async productUpdate(
    @Ctx() ctx: Context,
    @Arg('id', () => ID, { description: 'Global id of the product.' }) id: string,
    @Arg('input', () => ProductUpdateInput, { description: 'Fields to change.' }) input: ProductUpdateInput,
  ) {
    const r = await svc.updateProduct(ctx.app.db.prisma, storeOf(ctx), decodeId(id, 'Product'), input);
    return { product: r.value, userErrors: r.userErrors };
  }
}

@Resolver(() => Variant)
export class VariantResolver {
  @FieldResolver(() => ID, { description: 'Opaque global ID.' })
  id(@Root() v: VariantRow): string {
    return toGlobalId('Variant', v.id);
  }

  @FieldResolver(() => [VariantOption], { description: 'Option values, e.g. Size = L.' })
  options(@Root() v: VariantRow): VariantOptionValue[] {
    // A JSON column: the writes store an array of { name, value } (validated), older rows may hold {}.
    return Array.isArray(v.options) ? (v.options as unknown as VariantOptionValue[]) : [];
  }

  @FieldResolver(() => Product, { description: 'The product this variant belongs to.' })
  async product(@Root() v: VariantRow, @Ctx() ctx: Context) {
    return productById(ctx).load(v.productId);
  }

  @Authorized('inventory:read', 'storefront:read')
  @Query(() => Variant, { nullable: true, description: 'A variant by global id or by sku.' })
  async variant(
    @Ctx() ctx: Context,
    @Arg('id', () => ID, { nullable: true, description: 'Global id.' }) id?: string,
    @Arg('sku', () => String, { nullable: true, description: 'SKU.' }) sku?: string,
  ): Promise<VariantRow | null> {
    if (id != null) {
      const raw = decodeId(id, 'Variant');
      return raw ? variantById(ctx).load(raw) : null;
    }
    return sku != null ? variantBySku(ctx).load(sku) : null;
  }

  @Authorized('catalog:write')
  @Mutation(() => VariantPayload, { description: 'Adds a variant to a product.' })
  async variantCreate(
    @Ctx() ctx: Context,
    @Arg('productId', () => ID, { description: 'Global id of the product.' }) productId: string,
    @Arg('input', () => VariantInput, { description: 'The variant.' }) input: VariantInput,
  ) {
    const r = await svc.createVariant(ctx.app.db.prisma, storeOf(ctx), decodeId(productId, 'Product'), input);
    return { variant: r.value, userErrors: r.userErrors };
  }

  @Authorized('catalog:write')
  @Mutation(() => VariantPayload, { description: 'Updates a variant.' })
  async variantUpdate(
    @Ctx() ctx: Context,
    @Arg('id', () => ID, { description: 'Global id of the variant.' }) id: string,
    @Arg('input', () => VariantUpdateInput, { description: 'Fields to change.' }) input: VariantUpdateInput,
  ) {
    const r = await svc.updateVariant(ctx.app.db.prisma, storeOf(ctx), decodeId(id, 'Variant'), input);
    return { variant: r.value, userErrors: r.userErrors };
  }
}

@Resolver(() => Warehouse)
export class WarehouseResolver {
  @FieldResolver(() => ID, { description: 'Opaque global ID.' })
  id(@Root() w: WarehouseRow): string {
    return toGlobalId('Warehouse', w.id);
  }

  @Authorized('inventory:read')
  @Query(() => Warehouse, { nullable: true, description: 'A warehouse by global id or by code.' })
  async warehouse(
    @Ctx() ctx: Context,
    @Arg('id', () => ID, { nullable: true, description: 'Global id.' }) id?: string,
    @Arg('code', () => String, { nullable: true, description: 'Warehouse code.' }) code?: string,
  ): Promise<WarehouseRow | null> {
    if (id != null) {
      const raw = decodeId(id, 'Warehouse');
      return raw ? warehouseById(ctx).load(raw) : null;
    }
    return code != null ? warehouseByCode(ctx).load(code) : null;
  }

  @Authorized('catalog:write')
  @Mutation(() => WarehousePayload, { description: 'Creates a warehouse.' })
  async warehouseCreate(
    @Ctx() ctx: Context,
    @Arg('input', () => WarehouseInput, { description: 'The warehouse; code and name are required.' }) input: WarehouseInput,
  ) {
    const r = await svc.createWarehouse(ctx.app.db.prisma, storeOf(ctx), input);
    return { warehouse: r.value, userErrors: r.userErrors };
  }

  @Authorized('catalog:write')
  @Mutation(() => WarehousePayload, { description: 'Updates a warehouse.' })
  async warehouseUpdate(
    @Ctx() ctx: Context,
    @Arg('id', () => ID, { description: 'Global id of the warehouse.' }) id: string,
    @Arg('input', () => WarehouseInput, { description: 'Fields to change.' }) input: WarehouseInput,
  ) {
    const r = await svc.updateWarehouse(ctx.app.db.prisma, storeOf(ctx), decodeId(id, 'Warehouse'), input);
    return { warehouse: r.value, userErrors: r.userErrors };
  }
}
