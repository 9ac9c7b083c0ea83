/**
 * Query cost, computed before execution as Shopify's Admin API does:
 *  - scalars and enums cost 0, every object (or list of objects) 1;
 *  - a connection costs 2 + (first | last | default page size) × the cost of one node/edge;
 *  - a mutation adds 10.
 * The actual cost is the same sum over what was returned (connections count their real edges).
 */
import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  isObjectType,
  isInterfaceType,
  getArgumentValues,
} from 'graphql';
import { DEFAULT_PAGE } from './connection';

export const MUTATION_COST = 10;

const isConnection = (typeName: string) => typeName.endsWith('Connection');

interface Walk {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
}

function fieldDef(parent: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined {
  if (isObjectType(parent) || isInterfaceType(parent)) return parent.getFields()[name];
  return undefined;
}

/** Fields selected on `parent`, fragments flattened (for a union or interface: the widest branch is charged). */
function fieldsOf(
  w: Walk,
  parent: GraphQLCompositeType,
  set: SelectionSetNode,
  out: { field: FieldNode; type: GraphQLCompositeType }[] = [],
) {
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) out.push({ field: s, type: parent });
    else if (s.kind === Kind.INLINE_FRAGMENT) {
      const t = s.typeCondition ? (w.schema.getType(s.typeCondition.name.value) as GraphQLCompositeType) : parent;
      if (t) fieldsOf(w, t, s.selectionSet, out);
    } else if (s.kind === Kind.FRAGMENT_SPREAD) {
      const f = w.fragments[s.name.value];
      const t = f && (w.schema.getType(f.typeCondition.name.value) as GraphQLCompositeType);
      if (f && t) fieldsOf(w, t, f.selectionSet, out);
    }
  }
  return out;
}

function selectionCost(w: Walk, parent: GraphQLCompositeType, set: SelectionSetNode): number {
  let total = 0;
  for (const { field, type } of fieldsOf(w, parent, set)) {
    const def = fieldDef(type, field.name.value);
    if (!def || !field.selectionSet) continue; // scalars, enums, __typename
    const named = getNamedType(def.type);
    if (!isCompositeType(named)) continue;
    const child = selectionCost(w, named, field.selectionSet);
    if (isConnection(named.name)) {
      let args: Record<string, unknown>;
      try {
        args = getArgumentValues(def, field, w.variables);
      } catch {
        args = {};
      }
      // first: 0 / last: 0 ask for page info only: they cost the connection's 2.
      const raw = Number(args.first ?? args.last ?? DEFAULT_PAGE);
      const n = Number.isFinite(raw) && raw >= 0 ? raw : DEFAULT_PAGE;
      total += 2 + n * child;
    } else if (named.name.endsWith('Edge') || named.name === 'PageInfo') {
      total += child;
    } else {
      total += 1 + child;
    }
  }
  return total;
}

/** The requested cost of an operation (before execution). */
export function requestedCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
): number {
  const root =
    operation.operation === 'mutation'
      ? schema.getMutationType()
      : operation.operation === 'subscription'
        ? schema.getSubscriptionType()
        : schema.getQueryType();
  if (!root) return 0;
  const base = selectionCost({ schema, fragments, variables }, root, operation.selectionSet);
  return base + (operation.operation === 'mutation' ? MUTATION_COST : 0);
}

/** The actual cost: the same rules over the data returned. */
export function actualCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  data: unknown,
): number {
  const root = operation.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType();
  if (!root || data == null) return 0;
  const w: Walk = { schema, fragments, variables: {} };
  const walk = (parent: GraphQLCompositeType, set: SelectionSetNode, value: unknown): number => {
    if (value == null || typeof value !== 'object') return 0;
    let total = 0;
    for (const { field, type } of fieldsOf(w, parent, set)) {
      const def = fieldDef(type, field.name.value);
      if (!def || !field.selectionSet) continue;
      const named = getNamedType(def.type);
      if (!isCompositeType(named)) continue;
      const key = field.alias?.value ?? field.name.value;
      const v = (value as Record<string, unknown>)[key];
      if (v == null) continue;
      const items = isListType(getNullableType(def.type)) && Array.isArray(v) ? v : [v];
      if (isConnection(named.name)) {
        total += 2;
        for (const item of items) total += walk(named, field.selectionSet, item);
      } else if (named.name.endsWith('Edge') || named.name === 'PageInfo') {
        for (const item of items) total += walk(named, field.selectionSet, item);
      } else if (isListType(getNullableType(def.type)) && Array.isArray(v) && isConnection(parent.name)) {
        // A connection's nodes: each one counts, as the requested cost's page size did.
        for (const item of items) total += 1 + walk(named, field.selectionSet, item);
      } else if (isListType(getNullableType(def.type)) && Array.isArray(v)) {
        // A plain list is charged like one object, as in the requested cost.
        total += 1 + Math.max(0, ...items.map((item) => walk(named, field.selectionSet!, item)));
      } else {
        total += 1 + walk(named, field.selectionSet, v);
      }
    }
    return total;
  };
  return walk(root, operation.selectionSet, data) + (operation.operation === 'mutation' ? MUTATION_COST : 0);
}
