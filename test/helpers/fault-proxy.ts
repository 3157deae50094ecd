/**
 * An HTTP proxy on loopback between the functions and the S3 server that injects faults by rule:
 * refused (reset) connections, 5xx answers, slow answers, and connections cut while a request
 * body is being sent. Each rule fires a set number of times (or always).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = { kind: 'reset' } | { kind: 'status'; status: number } | { kind: 'delay'; ms: number } | { kind: 'cut' };

export interface Rule {
  method?: string;
  /** Matched against the path and query (e.g. /bucket/results/...?uploadId=). */
  path: RegExp;
  fault: Fault;
  /** How many matching requests get the fault (Infinity: all). */
  times: number;
  hits?: number;
}

export class FaultProxy {
  target = '';
  readonly rules: Rule[] = [];
  readonly log: { method: string; path: string; fault?: string }[] = [];
  private server?: http.Server;
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  add(rule: Rule): Rule {
    rule.hits = 0;
    this.rules.push(rule);
    return rule;
  }

  clear(): void {
    this.rules.length = 0;
  }

  close(): Promise<void> {
    return new Promise((r) => { this.server?.closeAllConnections(); this.server?.close(() => r()); });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = req.url ?? '/';
    const rule = this.rules.find((r) => (!r.method || r.method === req.method) && r.path.test(path) && r.hits! < r.times);
    this.log.push({ method: req.method ?? '', path, fault: rule?.fault.kind });
    if (rule) rule.hits!++;
    const fault = rule?.fault;
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      req.resume();
      res.writeHead(fault.status, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.status === 503 ? 'SlowDown' : 'InternalError'}</Code><Message>injected</Message></Error>`);
      return;
    }
    const forward = () => {
      const target = new URL(this.target);
      const up = http.request({ host: target.hostname, port: target.port, method: req.method, path, headers: req.headers }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.on('error', () => res.destroy());
      if (fault?.kind === 'cut') {
        let sent = 0;
        req.on('data', (c: Buffer) => {
          sent += c.length;
          up.write(c);
          if (sent > 1024) { req.socket.destroy(); up.destroy(); }
        });
        return;
      }
      req.pipe(up);
    };
    if (fault?.kind === 'delay') setTimeout(forward, fault.ms);
    else forward();
  }
}
