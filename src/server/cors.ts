/** CORS for browser storefronts. */
import type http from 'node:http';

/**
 * An allowed Origin gets the headers (and its preflight the preflight headers; the caller answers
 * it 204). Returns true when the request came from an allowed origin.
 */
export function applyCors(allowed: string[], req: http.IncomingMessage, res: http.ServerResponse): boolean {
  const origin = req.headers.origin;
  if (!origin || allowed.length === 0 || !(allowed.includes('*') || allowed.includes(origin))) return false;
  res.setHeader('access-control-allow-origin', allowed.includes('*') ? '*' : origin);
  res.setHeader('vary', 'Origin');
  res.setHeader('access-control-expose-headers', 'x-request-id, retry-after');
  if (req.method === 'OPTIONS') {
    res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
    res.setHeader('access-control-allow-headers', 'authorization, content-type, x-request-id, apollo-require-preflight');
    res.setHeader('access-control-max-age', '600');
  }
  return true;
}
