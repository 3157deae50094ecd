/** A loopback HTTP server that serves files by name (what models:fetch downloads in tests). */
import http from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

export interface FileServer { base: string; close(): void }

/**
 * `fileFor` maps the requested name (the URL path without its slash) to a file; unknown names get
 * 404. `special` may answer a request itself (e.g. a connection cut mid-body) and return true.
 */
export async function serveFiles(
  fileFor: (name: string) => string | undefined,
  special: (name: string, res: http.ServerResponse) => boolean = () => false,
): Promise<FileServer> {
  const server = http.createServer((req, res) => {
    const name = (req.url ?? '').slice(1);
    if (special(name, res)) return;
    const file = fileFor(name);
    if (!file || !existsSync(file)) { res.writeHead(404); res.end(); return; }
    const body = readFileSync(file);
    res.writeHead(200, { 'content-length': String(body.length) });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}
