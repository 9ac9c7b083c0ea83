/** Request bodies: a size limit that still lets the client read its 413, and lenient JSON. */
import type http from 'node:http';

/** The largest request body (and graphql-ws message) accepted. */
export const MAX_BODY_BYTES = 1024 * 1024;

export class BodyTooLarge extends Error {}

/**
 * Reads the body. Past MAX_BODY_BYTES the rest is drained unread (up to 16 MiB, then the socket
 * is dropped) so that the client still receives its 413.
 */
export function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 16 * MAX_BODY_BYTES) {
        reject(new BodyTooLarge());
        req.destroy();
      } else if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => (size > MAX_BODY_BYTES ? reject(new BodyTooLarge()) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

/** JSON text or null (absent or malformed). */
export function parseJson(s: string | null): unknown {
  try {
    return s ? JSON.parse(s) : null;
  } catch {
    return null;
  }
}

/**
 * The key of an `Authorization: Bearer <key>` value: undefined without one, '' when malformed
 * (refused as an invalid key rather than treated as anonymous).
 */
export function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : '';
}
