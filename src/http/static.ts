/**
 * The browser UIs, served from the web build (dist/public, made by scripts/build-web.js) — nothing
 * comes from a CDN, so both work offline:
 *  - GET /graphql asking for HTML (a browser; no `query` parameter) → GraphiQL, when GRAPHIQL is on
 *    (default: on unless NODE_ENV=production); its files under /ide/;
 *  - GET /board → the live stock board, when BOARD is on (default: on); its files under /board/.
 * Content-hashed files are cached for a year (immutable), with gzip/brotli copies made at build time;
 * pages are not cached. Pages carry a strict Content-Security-Policy: scripts, styles and
 * connections to this origin only.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import type { Config } from '../config';
import { projectRoot } from '../paths';
import { sendError } from './json';

export const publicDir = path.join(projectRoot, 'dist', 'public');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
};

/**
 * 'self' covers ws:/wss: to the same host in CSP Level 3 (graphql-ws). GraphiQL's fonts are data:
 * URLs inside its stylesheet; its icons are inline SVG.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

const PAGE_HEADERS: Record<string, string> = {
  ...COMMON_HEADERS,
  'content-security-policy': PAGE_CSP,
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/** Names made by the build with a content hash (main-AB12CD34.js, …): safe to cache forever. */
const HASHED = /-[A-Z0-9]{8}\.[a-z0-9.]+$/;

/** An error answer with the headers every static response carries. */
function sendStaticError(res: http.ServerResponse, status: number, message: string, code: string, headers: Record<string, string> = {}) {
  sendError(res, status, message, code, { ...COMMON_HEADERS, ...headers });
}

class BadPath extends Error {}

/**
 * The file under `base` named by the rest of a URL path, or BadPath for anything that could leave
 * `base` or reach a hidden file: `..`, `.x`, empty segments, backslashes, NUL, bad %-encoding.
 * (The URL parser already folds plain and %2e dot segments; %2f-encoded slashes are caught here.)
 */
export function resolveAsset(base: string, rest: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    throw new BadPath('bad percent-encoding');
  }
  if (!decoded || /[\\\0]/.test(decoded)) throw new BadPath('bad character');
  const parts = decoded.split('/');
  if (parts.some((p) => p === '' || p.startsWith('.'))) throw new BadPath('bad segment');
  const file = path.resolve(base, ...parts);
  if (!file.startsWith(base + path.sep)) throw new BadPath('outside');
  return file;
}

function preferredEncoding(req: http.IncomingMessage): 'br' | 'gzip' | null {
  const header = String(req.headers['accept-encoding'] ?? '');
  const accepted = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)).find(Boolean);
    accepted.set(name, q ? Number(q[1]) : 1);
  }
  if ((accepted.get('br') ?? 0) > 0) return 'br';
  if ((accepted.get('gzip') ?? 0) > 0) return 'gzip';
  return null;
}

async function statFile(file: string): Promise<fs.Stats | null> {
  try {
    const st = await fs.promises.stat(file);
    return st.isFile() ? st : null;
  } catch {
    return null;
  }
}

/** Sends one file (its .br/.gz twin when the client takes it), honouring If-None-Match and HEAD. */
async function sendFile(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  file: string,
  extraHeaders: Record<string, string> = {},
): Promise<boolean> {
  const st = await statFile(file);
  if (!st) return false;
  const ext = path.extname(file);
  const etag = `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  const headers: Record<string, string> = {
    'content-type': TYPES[ext] ?? 'application/octet-stream',
    'cache-control': HASHED.test(path.basename(file)) ? 'public, max-age=31536000, immutable' : 'no-cache',
    etag,
    vary: 'Accept-Encoding',
    ...COMMON_HEADERS,
    ...extraHeaders,
  };
  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
    res.writeHead(304, headers);
    res.end();
    return true;
  }
  let body = file;
  let length = st.size;
  const enc = preferredEncoding(req);
  if (enc) {
    const twin = `${file}.${enc === 'br' ? 'br' : 'gz'}`;
    const tst = await statFile(twin);
    if (tst) {
      body = twin;
      length = tst.size;
      headers['content-encoding'] = enc;
    }
  }
  headers['content-length'] = String(length);
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    res.end();
    return true;
  }
  await new Promise<void>((resolve) => {
    const stream = fs.createReadStream(body);
    stream.on('error', () => {
      res.destroy();
      resolve();
    });
    res.on('close', () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(res);
  });
  return true;
}

/**
 * A page: small, read on each request, so that a page asking for one (`%CSP_NONCE%`, as the IDE
 * does) gets a fresh CSP nonce. GraphiQL's dialogs add a <style> element at run time (Radix's
 * scroll lock, via get-nonce): the nonce allows exactly that, and style-src stays 'self' otherwise.
 */
async function sendPage(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  app: 'ide' | 'board',
  extraHeaders: Record<string, string> = {},
) {
  let html: string;
  try {
    html = await fs.promises.readFile(path.join(publicDir, app, 'index.html'), 'utf8');
  } catch {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...COMMON_HEADERS });
    res.end(`The ${app === 'ide' ? 'GraphQL IDE' : 'stock board'} is not built: run \`npm run build\` (scripts/build-web.js).\n`);
    return;
  }
  let csp = PAGE_CSP;
  if (html.includes('%CSP_NONCE%')) {
    const nonce = crypto.randomBytes(16).toString('base64');
    html = html.replaceAll('%CSP_NONCE%', nonce);
    csp = csp.replace("style-src 'self'", `style-src 'self' 'nonce-${nonce}'`);
  }
  const body = Buffer.from(html, 'utf8');
  res.writeHead(200, {
    'content-type': TYPES['.html'],
    'content-length': String(body.length),
    'cache-control': 'no-cache',
    ...PAGE_HEADERS,
    'content-security-policy': csp,
    ...extraHeaders,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * A browser opening /graphql while the IDE is off (the default in production): a short page that
 * says so and how to turn it on, instead of Apollo's CSRF refusal in JSON.
 */
function sendIdeOff(req: http.IncomingMessage, res: http.ServerResponse): true {
  const body = Buffer.from(
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>GraphQL IDE is off</title></head>
<body><main>
<h1>The GraphQL IDE is off</h1>
<p>This is the GraphQL endpoint of the inventory gateway. API clients send their operations here with <code>POST</code> (or <code>GET</code> with a <code>query</code> parameter) and an <code>Authorization: Bearer</code> key.</p>
<p>The in-browser IDE (GraphiQL) is off on this server: it is off by default when <code>NODE_ENV=production</code>. To turn it on, start the gateway with <code>GRAPHIQL=true</code>.</p>
</main></body></html>
`,
    'utf8',
  );
  // 404: there is no IDE here (the page says why); API requests to /graphql are unaffected.
  res.writeHead(404, {
    'content-type': TYPES['.html'],
    'content-length': String(body.length),
    'cache-control': 'no-cache',
    vary: 'Accept',
    ...PAGE_HEADERS,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}

/** A browser navigating to /graphql (not a GraphQL GET request, which carries `query`). */
function wantsIde(req: http.IncomingMessage, url: URL): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (url.searchParams.has('query') || url.searchParams.has('extensions')) return false;
  return /\btext\/html\b/i.test(String(req.headers.accept ?? ''));
}

async function serveAsset(req: http.IncomingMessage, res: http.ServerResponse, app: 'ide' | 'board', rest: string): Promise<true> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendStaticError(res, 405, 'Method not allowed', 'METHOD_NOT_ALLOWED', { allow: 'GET, HEAD' });
    return true;
  }
  if (rest === '') {
    sendStaticError(res, 404, 'Not found', 'NOT_FOUND');
    return true;
  }
  let file: string;
  try {
    file = resolveAsset(path.join(publicDir, app), rest);
  } catch (e) {
    if (!(e instanceof BadPath)) throw e;
    sendStaticError(res, 400, 'Bad path', 'BAD_REQUEST');
    return true;
  }
  // Pages are served at /graphql and /board only; compressed twins are picked by Accept-Encoding.
  if (path.basename(file) === 'index.html' || /\.(br|gz)$/.test(file) || !(await sendFile(req, res, file))) {
    sendStaticError(res, 404, 'Not found', 'NOT_FOUND');
  }
  return true;
}

/**
 * Serves the IDE, the board and their files. Returns true when it answered the request; false
 * leaves it to the GraphQL handler (and the 404 for unknown paths).
 */
export function serveStatic(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  config: Pick<Config, 'graphiql' | 'board'>,
): boolean | Promise<boolean> {
  const p = url.pathname;
  if (p === '/graphql') {
    if (!wantsIde(req, url)) return false;
    if (!config.graphiql) return sendIdeOff(req, res);
    return sendPage(req, res, 'ide', { vary: 'Accept' }).then(() => true);
  }
  if (config.graphiql && p.startsWith('/ide/')) return serveAsset(req, res, 'ide', p.slice('/ide/'.length));
  if (!config.board) return false;
  if (p === '/board') {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendStaticError(res, 405, 'Method not allowed', 'METHOD_NOT_ALLOWED', { allow: 'GET, HEAD' });
      return true;
    }
    return sendPage(req, res, 'board').then(() => true);
  }
  if (p === '/board/') {
    // The page's files are relative to /board: send /board/ there (relative, for path-prefixed proxies).
    res.writeHead(308, { location: `../board${url.search}`, ...COMMON_HEADERS });
    res.end();
    return true;
  }
  if (p.startsWith('/board/')) return serveAsset(req, res, 'board', p.slice('/board/'.length));
  return false;
}
