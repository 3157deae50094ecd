/**
 * Runs a Lambda handler in this process the way the Lambda runtime invokes it: a context whose
 * deadline is the function's timeout, and an invocation still running at that deadline reported
 * as failed ("Task timed out"). Lambda would then stop the handler; in one process it cannot be
 * stopped, so it runs on and `timedOut` counts it (tests that kill workers use real processes).
 */
import { lambdaContext } from './http-api.js';

export type Handler<E> = (event: E, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

export class InProcessFunction<E> {
  timedOut = 0;

  constructor(private readonly name: string, private readonly handler: () => Handler<E>, private readonly timeoutSeconds: number) {}

  readonly invoke = async (event: E): Promise<unknown> => {
    const timeoutMs = this.timeoutSeconds * 1000;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.timedOut++;
        reject(new Error(`${this.name}: Task timed out after ${this.timeoutSeconds.toFixed(2)} seconds`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.handler()(event, lambdaContext(this.name, timeoutMs)), deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
}
