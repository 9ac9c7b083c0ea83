/**
 * Field authorization by type, whatever path reaches the field (root, nested, fragment, node()).
 *
 * Every object type declares who may read it, where the type is declared:
 *
 *   @Access({ read: ['inventory:read'], public: ['id', 'sku'] })   // scopes that read every field;
 *   @ObjectType(…) class Variant { … }                              // fields publishable keys may read
 *
 *   @Access({ payload: true })                                      // a mutation's result wrapper
 *
 * Root fields (Query, Mutation, Subscription) take their scopes from their `@Authorized(…)`.
 * Connection, edge and page-info types are transparent: the field that returns them is checked,
 * and so are the fields of their nodes. A schema with an object type that declares nothing does not
 * start (`assertAccessDeclared`), so a new type can't be forgotten; a new field of a declared type
 * needs the type's read scopes unless it is listed as public.
 *
 * Mutation payloads: a mutation's payload (and its `userErrors`) is readable by whoever may run the
 * mutation, and so are the fields of the object it returns (the object the mutation changed);
 * anything reached from that object needs the read scope of its own type.
 *
 * Publishable keys read only public fields, and may only sort and filter by public fields
 * (`PUBLIC_ARGUMENTS`). Everything here is static: it runs once per operation before execution,
 * in `OperationGuard.check`, for every transport.
 */
import {
  GraphQLError,
  Kind,
  getNamedType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isObjectType,
  valueFromAST,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { Extensions, getMetadataStorage } from 'type-graphql';
import { hasScope, STOREFRONT, type AuthInfo } from './scopes';

export interface AccessPolicy {
  /** Any one of these scopes reads every field of the type. */
  read?: string[];
  /** Fields that keys with the storefront:read scope (publishable keys) may read too; `true`: all. */
  public?: string[] | true;
  /** A result wrapper: readable by whoever reached it (see the mutation rule above). */
  payload?: true;
}

/** Declares an object type's read policy (on the class, beside @ObjectType). */
export function Access(policy: AccessPolicy): ClassDecorator {
  return Extensions({ access: policy }) as ClassDecorator;
}

/**
 * The same for an interface. A separate key: type-graphql copies an interface class's extensions
 * into the object types that extend it, where they would replace the type's own policy.
 */
export function InterfaceAccess(policy: AccessPolicy): ClassDecorator {
  return Extensions({ interfaceAccess: policy }) as ClassDecorator;
}

/**
 * Sort keys and filter fields a publishable key may use: those over public fields (sorting by a
 * field reveals its order). `Enum.VALUE` for values of `…SortKey` enums, `Input.field` for fields of
 * `…Filter` inputs. Anything not listed is refused to publishable keys, so a new sort key or
 * filter is private until it is added here.
 */
export const PUBLIC_ARGUMENTS: ReadonlySet<string> = new Set([
  'ProductSortKey.NAME',
  'ProductSortKey.TOTAL_AVAILABLE',
  'VariantSortKey.SKU',
  'VariantSortKey.PRICE',
  'InventoryLevelSortKey.AVAILABLE',
  'InventoryLevelSortKey.SKU',
  'ProductFilter.search',
  'ProductFilter.statuses',
  'ProductFilter.active',
  'ProductFilter.warehouseIds',
  'VariantFilter.productIds',
  'VariantFilter.skus',
  'VariantFilter.search',
  'InventoryLevelFilter.warehouseIds',
  'InventoryLevelFilter.variantIds',
  'InventoryLevelFilter.productIds',
  'InventoryLevelFilter.skus',
  'InventoryLevelFilter.statuses',
  'InventoryLevelFilter.lowStockOnly',
]);

/** What a root field's `@Authorized` allows, by `Type.field`. */
const rootScopes = new WeakMap<GraphQLSchema, Map<string, string[]>>();

function rootScopeMap(schema: GraphQLSchema): Map<string, string[]> {
  let m = rootScopes.get(schema);
  if (m) return m;
  m = new Map();
  const md = getMetadataStorage();
  const roles = (target: object, method: string) =>
    md.authorizedFields.find((a) => a.target === target && a.fieldName === method)?.roles as string[] | undefined;
  for (const [typeName, list] of [
    [schema.getQueryType()?.name, md.queries],
    [schema.getMutationType()?.name, md.mutations],
    [schema.getSubscriptionType()?.name, md.subscriptions],
  ] as const) {
    if (!typeName) continue;
    for (const r of list) {
      const scopes = roles(r.target, r.methodName);
      if (scopes) m.set(`${typeName}.${r.schemaName}`, scopes);
    }
  }
  rootScopes.set(schema, m);
  return m;
}

function policyOf(type: GraphQLCompositeType): AccessPolicy | undefined {
  const ext = type.extensions as { access?: AccessPolicy; interfaceAccess?: AccessPolicy } | undefined;
  return isInterfaceType(type) ? ext?.interfaceAccess : ext?.access;
}

const TRANSPARENT = /^(PageInfo|\w+Connection|\w+Edge)$/;

function isRoot(schema: GraphQLSchema, type: GraphQLCompositeType): boolean {
  return type === schema.getQueryType() || type === schema.getMutationType() || type === schema.getSubscriptionType();
}

/**
 * Fails at startup when an object or interface type declares no policy, or a root field has no
 * @Authorized.
 */
export function assertAccessDeclared(schema: GraphQLSchema): void {
  const roots = rootScopeMap(schema);
  const missing: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    if (isObjectType(type) || isInterfaceType(type)) {
      if (isRoot(schema, type)) {
        for (const f of Object.keys(type.getFields()))
          if (!roots.has(`${type.name}.${f}`)) missing.push(`${type.name}.${f} (no @Authorized)`);
      } else if (!TRANSPARENT.test(type.name) && !policyOf(type)) missing.push(`${type.name} (no @Access)`);
    }
  }
  if (missing.length) throw new Error(`access not declared for: ${missing.join(', ')}`);
}

/** Whether a key may see objects of this type at all (node(id) answers null otherwise). */
export function canSeeType(schema: GraphQLSchema, auth: AuthInfo, typeName: string): boolean {
  const type = schema.getType(typeName);
  if (!type || !(isObjectType(type) || isInterfaceType(type))) return false;
  const p = policyOf(type);
  if (!p) return false;
  if (p.payload) return true;
  if (auth.kind === 'sk' && (p.read ?? []).some((s) => hasScope(auth, s))) return true;
  return hasScope(auth, STOREFRONT) && (p.public === true || (p.public?.length ?? 0) > 0);
}

export const forbiddenField = (auth: AuthInfo, typeName: string, field: string, scopes: string[]) =>
  auth.kind === 'pk'
    ? new GraphQLError(
        `Publishable keys cannot read ${typeName}.${field}; use a secret key with the ${scopes.includes('inventory:read') ? 'inventory:read' : (scopes[0] ?? 'admin')} scope`,
        {
          extensions: { code: 'FORBIDDEN', http: { status: 403 } },
        },
      )
    : new GraphQLError(`This operation requires the "${scopes.join('" or "')}" scope (to read ${typeName}.${field})`, {
        extensions: { code: 'FORBIDDEN', requiredScope: scopes[0], http: { status: 403 } },
      });

/** A root field: the key needs one of the scopes its resolver's @Authorized names. */
function checkRootField(
  roots: Map<string, string[]>,
  parent: string,
  name: string,
  auth: AuthInfo | null,
  unauthenticated: () => GraphQLError,
): void {
  const scopes = roots.get(`${parent}.${name}`) ?? [];
  if (!auth) throw unauthenticated();
  if (!scopes.some((s) => hasScope(auth, s)))
    throw forbiddenField(
      auth,
      parent,
      name,
      scopes.filter((s) => s !== STOREFRONT),
    );
}

/** A field of an object type: its type's @Access policy (read scopes; public fields for storefront and publishable keys). */
function checkTypeField(parent: GraphQLCompositeType, name: string, auth: AuthInfo | null, unauthenticated: () => GraphQLError): void {
  const p = policyOf(parent) ?? {};
  if (p.payload) return;
  if (!auth) throw unauthenticated();
  const isPublic = p.public === true || (p.public?.includes(name) ?? false);
  const allowed = auth.kind === 'pk' ? isPublic : (p.read ?? []).some((s) => hasScope(auth, s)) || (isPublic && hasScope(auth, STOREFRONT));
  if (!allowed) throw forbiddenField(auth, parent.name, name, p.read ?? ['admin']);
}

/** Where a selection is, for the mutation-payload rule. */
type Reach = 'normal' | 'payload' | 'changed';

/**
 * Checks every field the operation can reach against the key. Throws FORBIDDEN (403) naming the
 * first field refused, or UNAUTHENTICATED when a field needs a key and there is none.
 */
export function checkFieldAccess(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  auth: AuthInfo | null,
  variables: Record<string, unknown>,
  unauthenticated: () => GraphQLError,
): void {
  const roots = rootScopeMap(schema);
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
  const rootType =
    operation.operation === 'query'
      ? schema.getQueryType()
      : operation.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  if (!rootType) return;
  const seen = new Set<string>();

  const walk = (set: SelectionSetNode, parent: GraphQLCompositeType, reach: Reach): void => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        const t = sel.typeCondition ? (schema.getType(sel.typeCondition.name.value) as GraphQLCompositeType | undefined) : parent;
        if (t && isCompositeType(t)) walk(sel.selectionSet, t, reach);
        continue;
      }
      if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const f = fragments[sel.name.value];
        const t = f && (schema.getType(f.typeCondition.name.value) as GraphQLCompositeType | undefined);
        // A fragment spread in the same place twice adds nothing; validation rules out cycles.
        const key = `${sel.name.value}|${parent.name}|${reach}`;
        if (t && isCompositeType(t) && !seen.has(key)) {
          seen.add(key);
          walk(f.selectionSet, t, reach);
        }
        continue;
      }
      const name = sel.name.value;
      if (name === '__typename' || name.startsWith('__')) continue; // introspection has its own rule
      if (isRoot(schema, parent)) checkRootField(roots, parent.name, name, auth, unauthenticated);
      else if (reach === 'normal' && !TRANSPARENT.test(parent.name)) checkTypeField(parent, name, auth, unauthenticated);
      const field: GraphQLField<unknown, unknown> | undefined =
        isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
      if (!field) continue; // validation reports unknown fields
      if (auth?.kind === 'pk') checkArguments(field, sel.arguments ?? [], variables, parent.name);
      if (!sel.selectionSet) continue;
      const child = getNamedType(field.type);
      if (!isCompositeType(child)) continue;
      // Under a mutation: the payload's fields are free, and so are those of the object it returns.
      const next: Reach = isRoot(schema, parent)
        ? operation.operation === 'mutation'
          ? 'payload'
          : 'normal'
        : reach === 'payload'
          ? policyOf(child)?.payload
            ? 'payload'
            : 'changed'
          : 'normal';
      walk(sel.selectionSet, child, next);
    }
  };
  walk(operation.selectionSet, rootType, 'normal');
}

/** Publishable keys: only sort keys and filter fields over public fields (PUBLIC_ARGUMENTS). */
function checkArguments(
  field: GraphQLField<unknown, unknown>,
  args: readonly import('graphql').ArgumentNode[],
  variables: Record<string, unknown>,
  typeName: string,
): void {
  for (const a of args) {
    const def = field.args.find((d) => d.name === a.name.value);
    if (!def) continue;
    const value = valueFromAST(a.value, def.type, variables);
    refusePrivate(def.type, value, `${typeName}.${field.name}(${def.name})`);
  }
}

function refusePrivate(type: GraphQLInputType, value: unknown, where: string, depth = 0): void {
  if (value == null || depth > 8) return;
  const named = getNamedType(type);
  if (Array.isArray(value)) {
    for (const v of value) refusePrivate(named, v, where, depth + 1);
    return;
  }
  if (isEnumType(named) && /SortKey$/.test(named.name) && typeof value === 'string' && !PUBLIC_ARGUMENTS.has(`${named.name}.${value}`)) {
    throw new GraphQLError(`Publishable keys cannot sort by ${value} (${where}): it orders by a private field`, {
      extensions: { code: 'FORBIDDEN', http: { status: 403 } },
    });
  }
  if (isInputObjectType(named) && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      if (/Filter$/.test(named.name) && !PUBLIC_ARGUMENTS.has(`${named.name}.${k}`)) {
        throw new GraphQLError(`Publishable keys cannot filter by ${named.name}.${k} (${where}): it is a private field`, {
          extensions: { code: 'FORBIDDEN', http: { status: 403 } },
        });
      }
      const f = named.getFields()[k];
      if (f && !isLeafType(getNamedType(f.type))) refusePrivate(f.type, v, where, depth + 1);
    }
  }
}
