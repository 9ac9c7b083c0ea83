/**
 * One webhook POST, with the SSRF guard applied at send time: the host is resolved and checked
 * (address-check.ts) on every attempt, and the connection goes to the address that was checked
 * (a pinned `lookup`), so a DNS answer that changed since the subscription was saved is caught.
 * node:http/https, no redirects followed, no connection reuse, a deadline over the whole exchange
 * (DNS, connect, TLS, response), and at most MAX_RESPONSE_BYTES of the answer read.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkTarget, type Refusal, type ResolveAll } from './address-check';

/** The most of a response body that is read (then the connection is closed). */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface SendOptions {
  allowPrivate: boolean;
  timeoutMs: number;
  /** Defaults to the system resolver (dns.lookup, all addresses). */
  resolve?: ResolveAll;
  maxResponseBytes?: number;
}

export type SendResult =
  | { ok: true; status: number; bytesRead: number }
  | {
      ok: false;
      /** HTTP status when there was an answer. */
      status: number | null;
      /** Short cause: HTTP_STATUS, REDIRECT, TIMEOUT, WEBHOOK_URL_FORBIDDEN, or the system/TLS error code (ECONNREFUSED, ENOTFOUND, CERT_HAS_EXPIRED, …). */
      cause: string;
      /** For lastError: cause and detail. */
      error: string;
      /** Set when the SSRF guard refused the target. */
      refusal?: Refusal;
    };

export const systemResolve: ResolveAll = (hostname) =>
  new Promise((resolve, reject) =>
    dns.lookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

/** A lookup that answers with the one address already checked. */
function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as unknown as LookupFunction;
}

class Deadline extends Error {
  constructor(ms: number) {
    super(`no response within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

function describe(e: unknown): { cause: string; error: string } {
  if (e instanceof Deadline) return { cause: 'TIMEOUT', error: `TIMEOUT: ${e.message}` };
  const err = e as { code?: unknown; message?: string };
  const cause = typeof err?.code === 'string' && err.code ? err.code : 'ERROR';
  const message = err?.message || String(e);
  return { cause, error: message.includes(cause) ? message : `${cause}: ${message}` };
}

/** Reads at most `cap` bytes of the answer, then settles on its status (the rest is not read). */
function onResponse(req: http.ClientRequest, res: http.IncomingMessage, cap: number, resolve: (r: SendResult) => void): void {
  const status = res.statusCode ?? 0;
  let bytesRead = 0;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    if (status >= 200 && status < 300) resolve({ ok: true, status, bytesRead });
    else if (status >= 300 && status < 400)
      resolve({ ok: false, status, cause: 'REDIRECT', error: `HTTP ${status} (redirects are not followed)` });
    else resolve({ ok: false, status, cause: 'HTTP_STATUS', error: `HTTP ${status}` });
  };
  res.on('data', (chunk: Buffer) => {
    bytesRead += chunk.length;
    if (bytesRead >= cap) {
      // Enough: the rest is not read, the connection is closed.
      finish();
      res.destroy();
      req.destroy();
    }
  });
  res.on('end', finish);
  res.on('error', () => finish());
  res.on('close', finish);
}

/** POSTs `body` to `rawUrl` (http or https). Never throws. */
export async function postWebhook(rawUrl: string, headers: Record<string, string>, body: string, opts: SendOptions): Promise<SendResult> {
  const cap = opts.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  let timer: NodeJS.Timeout | undefined;
  let onDeadline: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onDeadline?.();
      reject(new Deadline(opts.timeoutMs));
    }, opts.timeoutMs);
  });
  deadline.catch(() => undefined);
  try {
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      return { ok: false, status: null, cause: 'INVALID_URL', error: 'INVALID_URL: the subscription URL does not parse' };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return { ok: false, status: null, cause: 'INVALID_URL', error: `INVALID_URL: unsupported scheme ${url.protocol}` };
    const target = await Promise.race([
      checkTarget(url, { allowPrivate: opts.allowPrivate, resolve: opts.resolve ?? systemResolve }),
      deadline,
    ]);
    if (!target.ok) {
      return target.reason === 'FORBIDDEN'
        ? {
            ok: false,
            status: null,
            cause: 'WEBHOOK_URL_FORBIDDEN',
            error: `WEBHOOK_URL_FORBIDDEN: ${target.message}`,
            refusal: target.refusal,
          }
        : { ok: false, status: null, cause: target.code, error: `${target.code}: ${target.message}` };
    }
    const mod = url.protocol === 'https:' ? https : http;
    const exchange = new Promise<SendResult>((resolve, reject) => {
      const req = mod.request({
        method: 'POST',
        hostname: target.hostname,
        port: url.port || (url.protocol === 'https:' ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        headers: { ...headers, host: url.host, 'content-length': String(Buffer.byteLength(body)) },
        agent: false,
        lookup: pinnedLookup(target.address, target.family),
        // SNI and certificate checks use the name, not the pinned address.
        ...(url.protocol === 'https:' && target.hostname !== target.address ? { servername: target.hostname } : {}),
      });
      onDeadline = () => req.destroy(new Deadline(opts.timeoutMs));
      req.on('error', reject);
      req.on('response', (res) => onResponse(req, res, cap, resolve));
      req.end(body);
    });
    return await Promise.race([exchange, deadline]);
  } catch (e) {
    return { ok: false, status: null, ...describe(e) };
  } finally {
    clearTimeout(timer);
  }
}
