/**
 * The HTTP side of local mode: turns requests into API Gateway HTTP API (payload v2) events for
 * the same handlers that run in AWS, and serves the upload page.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { routeKey, type Route as ContractRoute } from '../layers/contracts/api.js';

export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

export interface Route { method: string; pattern: RegExp; routeKey: string; params: string[]; functionName: string; handler: () => HttpHandler }

/** A contract route as API Gateway matches it: `{name}` is one path segment. */
export function localRoute(r: ContractRoute, handler: () => HttpHandler): Route {
  const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  const pattern = new RegExp(`^${r.path.replace(/\{\w+\}/g, '([^/]+)')}$`);
  return { method: r.method, pattern, routeKey: routeKey(r), params, functionName: r.handler, handler };
}

const MAX_BODY = 64 * 1024;

/** What Lambda passes as the context object (the fields handlers and Powertools read). */
export function lambdaContext(name: string, timeoutMs = 30_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    functionName: name, functionVersion: '$LATEST', invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
    memoryLimitInMB: '1024', awsRequestId: randomUUID(), logGroupName: `/aws/lambda/${name}`, logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false, getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => {}, fail: () => {}, succeed: () => {},
  };
}

async function readBody(req: http.IncomingMessage): Promise<string | null> {
  let size = 0;
  const parts: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) return null;
    parts.push(c);
  }
  return Buffer.concat(parts).toString('utf8');
}

export function toEvent(req: http.IncomingMessage, url: URL, route: Route, params: Record<string, string>, body: string): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  return {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
    pathParameters: Object.keys(params).length ? params : undefined,
    body: body || undefined,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000', apiId: 'local', domainName: url.host, domainPrefix: 'local', requestId: randomUUID(),
      routeKey: route.routeKey, stage: '$default', time: new Date().toUTCString(), timeEpoch: Date.now(),
      http: { method: req.method ?? 'GET', path: url.pathname, protocol: 'HTTP/1.1', sourceIp: req.socket.remoteAddress ?? '', userAgent: headers['user-agent'] ?? '' },
    },
  };
}

export interface StaticSite {
  /** Folder of built files (index.html, assets/). */
  dir: string;
  /** Generated files, e.g. config.json. */
  generated?: Record<string, () => Promise<unknown>>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.map': 'application/json',
};

async function serveStatic(site: StaticSite, url: URL, res: http.ServerResponse): Promise<boolean> {
  const name = url.pathname === '/' ? '/index.html' : url.pathname;
  const gen = site.generated?.[name];
  if (gen) {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(await gen()));
    return true;
  }
  const file = path.resolve(site.dir, `.${decodeSegment(name)}`);
  if (!file.startsWith(path.resolve(site.dir) + path.sep)) return false;
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
    res.end(body);
    return true;
  } catch {
    return false;
  }
}

/** A request we cannot make sense of: answered 400, and the server keeps serving. */
class BadRequest extends Error {}

/** Host as RFC 9110 allows it (name or IP literal, optional port); anything else is refused. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new BadRequest('malformed percent-encoding in the path');
  }
}

function sendError(res: http.ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ error: { code, message } }));
}

/**
 * Every failure is answered on its own request: a malformed URL, Host or body is a 400, anything
 * unexpected a generic 500 (details only in the log), and the server keeps serving. Requests that
 * Node cannot even parse get a 400 from `clientError`.
 */
export function createHttpApi(routes: Route[], site?: StaticSite): http.Server {
  const server = http.createServer((req, res) => {
    handle(routes, site, req, res).catch((err: unknown) => {
      if (err instanceof BadRequest) return sendError(res, 400, 'INVALID_REQUEST', err.message);
      console.error(`${req.method} ${String(req.url).slice(0, 200)}: ${(err as Error)?.stack ?? String(err)}`);
      sendError(res, 500, 'INTERNAL', 'internal error');
    });
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  return server;
}

async function handle(routes: Route[], site: StaticSite | undefined, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const host = req.headers.host ?? 'localhost';
  if (!HOST.test(host)) throw new BadRequest('malformed Host header');
  let url: URL;
  try {
    // the Host header is data, never part of how the path is parsed
    url = new URL(req.url ?? '/', 'http://localhost');
    url.host = host;
  } catch {
    throw new BadRequest('malformed request target');
  }
  for (const route of routes) {
    const m = route.method === req.method ? route.pattern.exec(url.pathname) : null;
    if (!m) continue;
    const params = Object.fromEntries(route.params.map((p, i) => [p, decodeSegment(m[i + 1])]));
    const body = await readBody(req);
    if (body === null) return sendError(res, 413, 'PAYLOAD_TOO_LARGE', 'request body is too large');
    const r = await route.handler()(toEvent(req, url, route, params, body), lambdaContext(route.functionName));
    const result = typeof r === 'string' ? { statusCode: 200, body: r } : r;
    res.writeHead(result.statusCode ?? 200, (result.headers ?? {}) as http.OutgoingHttpHeaders);
    res.end(result.body ?? '');
    return;
  }
  if (req.method === 'GET' && site && (await serveStatic(site, url, res))) return;
  sendError(res, 404, 'NOT_FOUND', `no route for ${String(req.method).slice(0, 10)} ${url.pathname.slice(0, 200)}`);
}
