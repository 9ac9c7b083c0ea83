/**
 * Documents before they are parsed: the token limit and the nesting limit (both checked without
 * building an AST), and trusted documents (a safelist of operations, also served by hash).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { GraphQLError } from 'graphql';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import { ConfigError, type Config } from '../config';

/** Trusted documents: { "<sha256 of the document>": "<document>" }. */
export function loadTrustedDocuments(config: Config): Map<string, string> {
  const m = new Map<string, string>();
  if (!config.trustedDocumentsFile) return m;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(config.trustedDocumentsFile, 'utf8'));
  } catch (e) {
    throw new ConfigError('TRUSTED_DOCUMENTS', `cannot read ${config.trustedDocumentsFile}: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError('TRUSTED_DOCUMENTS', 'must be a JSON object { sha256: document }');
  for (const [hash, doc] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof doc !== 'string' || crypto.createHash('sha256').update(doc).digest('hex') !== hash) {
      throw new ConfigError('TRUSTED_DOCUMENTS', `entry ${hash.slice(0, 12)}… is not the sha256 of its document`);
    }
    m.set(hash, doc);
  }
  return m;
}

/**
 * The token limit, checked before parsing with armor's counting parser (armor's Apollo plugin for
 * tokens turns every syntax error into a 500). Only the limit is reported here; a syntax error is
 * left to the parser (400 GRAPHQL_PARSE_FAILED).
 */
export function tooManyTokens(query: unknown, max: number): boolean {
  if (typeof query !== 'string') return false;
  // Clients send the same few documents over and over: remember the verdict for small ones.
  const key = query.length <= TOKEN_CACHE_MAX_LENGTH ? `${max}:${query}` : null;
  const hit = key === null ? undefined : tokenVerdicts.get(key);
  if (hit !== undefined) return hit;
  let verdict: boolean;
  try {
    new MaxTokensParserWLexer(query, { n: max }).parseDocument();
    verdict = false;
  } catch (e) {
    verdict = e instanceof GraphQLError && /Token limit/.test(e.message);
  }
  if (key !== null) {
    if (tokenVerdicts.size >= TOKEN_CACHE_ENTRIES) tokenVerdicts.delete(tokenVerdicts.keys().next().value as string);
    tokenVerdicts.set(key, verdict);
  }
  return verdict;
}

const TOKEN_CACHE_ENTRIES = 500;
const TOKEN_CACHE_MAX_LENGTH = 8 * 1024;
/** Verdicts of tooManyTokens() for recently seen documents (bounded: ≤ 500 × 8 KiB). */
const tokenVerdicts = new Map<string, boolean>();

/** Deepest nesting of (), [] and {} a document may have (selections, input objects, lists). */
export const MAX_NESTING = 64;

/**
 * Whether the document nests brackets deeper than `max`, outside strings and comments. The
 * parser and the validation rules recurse per level: a few thousand levels inside the token
 * limit would overflow the stack, so such documents are refused before parsing.
 */
export function tooDeep(query: unknown, max = MAX_NESTING): boolean {
  if (typeof query !== 'string') return false;
  let depth = 0;
  for (let i = 0; i < query.length; i++) {
    const c = query.charCodeAt(i);
    if (c === 0x23 /* # */) {
      while (i < query.length && query.charCodeAt(i) !== 0x0a && query.charCodeAt(i) !== 0x0d) i++;
    } else if (c === 0x22 /* " */) {
      if (query.startsWith('"""', i)) {
        const end = query.indexOf('"""', i + 3);
        i = end < 0 ? query.length : end + 2;
      } else {
        for (i++; i < query.length && query.charCodeAt(i) !== 0x22 && query.charCodeAt(i) !== 0x0a; i++)
          if (query.charCodeAt(i) === 0x5c) i++;
      }
    } else if (c === 0x28 || c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x29 || c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** PostgreSQL text cannot hold NUL: refuse it anywhere in the variables, before any resolver runs. */
export function hasNul(v: unknown, depth = 0): boolean {
  if (typeof v === 'string') return v.includes('\u0000');
  if (depth > 64 || v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some((x) => hasNul(x, depth + 1));
  return Object.entries(v as Record<string, unknown>).some(([k, x]) => k.includes('\u0000') || hasNul(x, depth + 1));
}

const badRequest = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });

/** The checks every document and its variables pass before parsing, on every transport. */
export function preflight(query: unknown, variables: unknown, config: Pick<Config, 'maxTokens'>): GraphQLError | null {
  if (hasNul(variables)) return badRequest('Strings must not contain NUL (\\u0000) characters');
  // Nesting first: the token counter parses, and would overflow the stack on such a document.
  if (tooDeep(query)) return badRequest(`The document nests deeper than ${MAX_NESTING} levels`);
  if (tooManyTokens(query, config.maxTokens)) return badRequest(`The document has more than ${config.maxTokens} tokens`);
  return null;
}
