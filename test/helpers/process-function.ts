/**
 * A Lambda function whose invocations run in real processes, as Lambda runs them: a fresh process
 * per invocation loads the handler (init, not counted against the timeout), then gets the event
 * with a deadline and is killed (SIGKILL) if it is still running there. Tests can kill an
 * invocation earlier, as an out-of-memory kill or a crash would.
 */
import type { SQSEvent } from 'aws-lambda';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface Invocation {
  event: SQSEvent;
  child: ChildProcess;
  /** Kills the process now (SIGKILL). */
  kill(): void;
}

export class ProcessFunction {
  /** killed counts every SIGKILL, timeouts included. */
  readonly stats = { invocations: 0, timedOut: 0, killed: 0 };
  /** Called once an invocation has its event (after init); may kill it. */
  onInvoke?: (inv: Invocation) => void;

  /** `env` is read at each invocation (a stack's endpoints are known only once it runs). */
  constructor(private readonly handlerFile: string, private readonly env: () => NodeJS.ProcessEnv, private readonly timeoutSeconds: number) {}

  readonly invoke = (event: SQSEvent): Promise<unknown> => new Promise((resolve, reject) => {
    const script = `const { handler } = await import(${JSON.stringify(path.resolve(this.handlerFile))});
      process.on('message', async ({ event, deadline }) => {
        const context = { functionName: 'separate', awsRequestId: 'local', getRemainingTimeInMillis: () => deadline - Date.now() };
        try { process.send({ result: (await handler(event, context)) ?? null }, () => process.exit(0)); }
        catch (err) { process.send({ error: String(err && err.message || err) }, () => process.exit(1)); }
      });
      process.send({ ready: true });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: this.env(), stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const inv: Invocation = { event, child, kill: () => { if (!settled) { this.stats.killed++; child.kill('SIGKILL'); } } };
    child.on('message', (m: { ready?: true; result?: unknown; error?: string }) => {
      if (m.ready) {
        this.stats.invocations++;
        const deadline = Date.now() + this.timeoutSeconds * 1000;
        timer = setTimeout(() => { this.stats.timedOut++; inv.kill(); }, this.timeoutSeconds * 1000);
        child.send({ event, deadline });
        this.onInvoke?.(inv);
      } else if ('result' in m) {
        settled = true;
        resolve(m.result);
      } else {
        settled = true;
        reject(new Error(m.error));
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!settled) {
        settled = true;
        reject(new Error(`invocation process ended without a result (${signal ?? `exit ${code}`}): ${stderr.slice(-500)}`));
      }
    });
  });
}
