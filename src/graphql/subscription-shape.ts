/**
 * Pieces of shared subscriptions (src/graphql/shared-subscriptions.ts) that hold no state: the
 * shape key of a subscription and an event's serialized result.
 */
import {
  Kind,
  getOperationAST,
  print,
  visit,
  type ArgumentNode,
  type ASTVisitor,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
} from 'graphql';
import type { AuthInfo } from './scopes';
import { textMessage, type TextMessage } from './ws-frames';

/**
 * The serialized result of one event for one shape. Per subscription id, built once: its graphql-ws
 * `next` message, and that message as a complete WebSocket text frame (server frames are not
 * masked, so the same bytes go to every socket).
 */
/** Frames kept per result, by subscription id. */
const MESSAGES_KEPT = 4;

export class Rendered {
  private readonly messages = new Map<string, TextMessage>();
  constructor(private readonly json: string) {}

  message(id: string): TextMessage {
    let m = this.messages.get(id);
    if (m) return m;
    m = textMessage(`{"id":${JSON.stringify(id)},"type":"next","payload":${this.json}}`);
    // Kept for a few ids only: clients that number their subscriptions alike ("1") share one frame,
    // while random ids (one per subscriber) would keep a frame per subscriber for every kept result.
    if (this.messages.size < MESSAGES_KEPT) this.messages.set(id, m);
    return m;
  }
}

/** Formats an error as every transport does (the guard's formatError: masking, public codes). */
export type ErrorFormatter = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

/** Like graphql-ws: `errors` only when there are some, formatted by the guard. */
export function serialize(result: ExecutionResult, format: ErrorFormatter): Rendered {
  const { errors, ...rest } = result;
  return new Rendered(JSON.stringify(errors ? { ...rest, errors: errors.map((e) => format(e.toJSON(), e)) } : rest));
}

/** Variables used anywhere but in the root fields' arguments. */
function variablesBelowRoot(args: ExecutionArgs): string[] {
  const op = getOperationAST(args.document, args.operationName);
  const used = new Set<string>();
  if (!op) return [];
  const rootArgs = new Set<ArgumentNode>();
  for (const s of op.selectionSet.selections) if (s.kind === Kind.FIELD) for (const a of s.arguments ?? []) rootArgs.add(a);
  const visitor: ASTVisitor = {
    Argument: (node) => (rootArgs.has(node) ? false : undefined),
    Variable: (node) => void used.add(node.name.value),
  };
  visit(op.selectionSet, visitor);
  for (const d of op.directives ?? []) visit(d, visitor);
  for (const d of args.document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) visit(d.selectionSet, visitor);
  return [...used].sort();
}

export function shapeKey(args: ExecutionArgs, auth: AuthInfo | null): string {
  const vars = (args.variableValues ?? {}) as Record<string, unknown>;
  return JSON.stringify([
    args.document.loc?.source.body ?? print(args.document),
    args.operationName ?? null,
    variablesBelowRoot(args).map((n) => (n in vars ? [n, vars[n]] : [n])),
    auth ? [auth.storeId, auth.kind, [...auth.scopes].sort()] : null,
  ]);
}

export function isAsyncIterable(x: unknown): x is AsyncIterable<unknown> {
  return typeof (x as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function';
}
