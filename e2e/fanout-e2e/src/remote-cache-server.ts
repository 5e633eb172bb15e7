import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A remote cache server for Nx, following its self-hosted remote cache OpenAPI
 * specification (Nx 20.8+, `NX_SELF_HOSTED_REMOTE_CACHE_SERVER`):
 *
 * - `PUT /v1/cache/{hash}`, body the artifact (`application/octet-stream`), a
 *   `Content-Length` header required: 200 stored, 400 without a valid
 *   Content-Length, 401 without a known bearer token, 403 for a read-only token,
 *   409 when the hash is already stored (a record is never overwritten);
 * - `GET /v1/cache/{hash}`: 200 with the artifact, 404 when it is not stored,
 *   401 without a known bearer token.
 *
 * Earlier versions of the specification answered a stored PUT with 202; Nx 23's
 * client takes only 200 as success (it reports 202 as a misconfigured endpoint).
 *
 * Artifacts are kept in memory: the server lives for one test. It listens only
 * on 127.0.0.1, on a port the system picks.
 */

export interface RemoteCacheTokens {
  /** May read and write: the token of a main-branch CI job. */
  readWrite: string;
  /** May only read: the token of a pull-request job, which must not poison the cache. */
  readOnly: string;
}

type TokenKind = 'read-write' | 'read-only' | 'missing' | 'unknown';

/** One request the server answered, for the tests to inspect. */
interface CacheRequest {
  method: string;
  hash?: string;
  token: TokenKind;
  status: number;
}

export interface RemoteCacheServer {
  /** e.g. http://127.0.0.1:41234, the value of NX_SELF_HOSTED_REMOTE_CACHE_SERVER. */
  url: string;
  /** Stored artifacts by hash. */
  readonly artifacts: ReadonlyMap<string, Buffer>;
  /** Every request answered, in order. */
  readonly requests: readonly CacheRequest[];
  /** Stops listening and drops open connections. Safe to call twice. */
  stop(): Promise<void>;
}

const CACHE_PATH = /^\/v1\/cache\/([^/?#]+)$/;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Compares in constant time, so the answer's timing says nothing about a token. */
function sameToken(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

function tokenKind(request: IncomingMessage, tokens: RemoteCacheTokens): TokenKind {
  const match = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '');
  if (!match) return 'missing';
  const given = match[1].trim();
  if (sameToken(given, tokens.readWrite)) return 'read-write';
  if (sameToken(given, tokens.readOnly)) return 'read-only';
  return 'unknown';
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Starts the server on 127.0.0.1 and a free port. */
export async function startRemoteCacheServer(tokens: RemoteCacheTokens): Promise<RemoteCacheServer> {
  if (!tokens.readWrite || !tokens.readOnly || tokens.readWrite === tokens.readOnly) {
    throw new Error('The remote cache server needs two different, non-empty tokens: one read-write, one read-only.');
  }
  const artifacts = new Map<string, Buffer>();
  const requests: CacheRequest[] = [];

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const method = request.method ?? '';
    const hash = CACHE_PATH.exec(request.url ?? '')?.[1];
    const token = tokenKind(request, tokens);
    const answer = (status: number, message?: string, body?: Buffer) => {
      requests.push({ method, hash, token, status });
      if (body) {
        response.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': body.length });
        response.end(body);
      } else {
        response.writeHead(status, message ? { 'content-type': 'text/plain' } : {});
        response.end(message ?? '');
      }
    };

    // Read (or drain) the body first, so that an early answer never leaves a client writing.
    const body = await readBody(request);
    if (!hash) return answer(404, `No such endpoint: ${method} ${request.url}. This server serves /v1/cache/{hash}.`);
    if (method !== 'GET' && method !== 'PUT') return answer(405, `${method} is not supported: use GET or PUT.`);
    if (token === 'missing' || token === 'unknown') {
      return answer(401, token === 'missing' ? 'Missing bearer token.' : 'Invalid bearer token.');
    }
    if (method === 'GET') {
      const artifact = artifacts.get(hash);
      return artifact ? answer(200, undefined, artifact) : answer(404);
    }
    if (token === 'read-only') return answer(403, 'This token may only read from the cache.');
    const declared = Number(request.headers['content-length']);
    if (request.headers['content-length'] === undefined || !Number.isInteger(declared) || declared !== body.length) {
      return answer(400, 'Missing or invalid Content-Length header.');
    }
    if (artifacts.has(hash)) return answer(409, 'Cannot override an existing record.');
    artifacts.set(hash, body);
    return answer(200);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: Error) => {
      requests.push({ method: request.method ?? '', token: tokenKind(request, tokens), status: 500 });
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(`The cache server failed: ${error.message}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });

  let stopped = false;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    artifacts,
    requests,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
