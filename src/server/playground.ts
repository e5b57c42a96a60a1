/**
 * The playground page at `/` (web/playground, built by scripts/build.mjs into dist/playground): a fixed
 * set of files read once from the build folder, served with GET/HEAD only, each with its content type and
 * the page's security headers: a CSP with no 'unsafe-inline' (the page's script and style are files of
 * this origin, its only connections are this origin's Connect API), nosniff, no framing, no referrer.
 * No path from the request reaches the file system: unknown paths fall through to the RPC layer.
 */
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where scripts/build.mjs puts the page: <package root>/dist/playground (same from src/ and dist/). */
export const DEFAULT_PLAYGROUND_DIR = fileURLToPath(new URL('../../dist/playground/', import.meta.url));

/** URL path → file in the build folder, and its content type. */
const ROUTES: Readonly<Record<string, readonly [file: string, type: string]>> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/playground/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/playground/app.js.map': ['app.js.map', 'application/json'],
  '/playground/style.css': ['style.css', 'text/css; charset=utf-8'],
  // the same page in one file, to keep and open from disk (verifies saved responses with no server)
  '/playground/wasmvm-tee-playground.html': ['wasmvm-tee-playground.html', 'text/html; charset=utf-8'],
};

export const PLAYGROUND_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  'img-src data: blob:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': PLAYGROUND_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-cache',
};

interface File {
  body: Buffer;
  type: string;
}

export interface Playground {
  /** Serve the request if it is one of the page's paths (true), else leave it (false). */
  handle(method: string | undefined, path: string, res: ServerResponse | Http2ServerResponse): boolean;
}

/**
 * The playground from `dir` (default: the build folder). A folder without the built page serves, at `/`
 * only, a short text saying how to build it (the RPC paths are unaffected).
 */
export function createPlayground(dir: string = DEFAULT_PLAYGROUND_DIR): Playground {
  const files = new Map<string, File>();
  for (const [path, [file, type]] of Object.entries(ROUTES)) {
    try {
      files.set(path, { body: readFileSync(join(dir, file)), type });
    } catch {
      // not built (or no source map): that path is not served
    }
  }
  return {
    handle(method, path, res) {
      const f = files.get(path);
      const known = f !== undefined || path === '/';
      if (!known || (method !== 'GET' && method !== 'HEAD')) {
        if (known) {
          (res as ServerResponse).writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
          res.end('method not allowed\n');
          return true;
        }
        return false;
      }
      if (!f) {
        (res as ServerResponse).writeHead(404, {
          'content-type': 'text/plain; charset=utf-8',
          ...SECURITY_HEADERS,
        });
        res.end('the playground is not built: run `npm run build` (it writes dist/playground)\n');
        return true;
      }
      (res as ServerResponse).writeHead(200, {
        'content-type': f.type,
        'content-length': String(f.body.length),
        ...SECURITY_HEADERS,
      });
      if (method === 'HEAD') res.end();
      else res.end(f.body);
      return true;
    },
  };
}
