/**
 * The one middleware chain of every HTTP function: metrics (cold start, request latency per route,
 * timing headers) and the error-to-response mapping. A handler supplies only its own step.
 */
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { apiTiming, createMetrics } from '../observability/metrics.js';
import { requireFrontDoor } from './origin-verify.js';
import { httpErrors } from './responses.js';

export type HttpStep = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;

export interface HttpFunctionOptions {
  /** Refuse requests that bypassed CloudFront + WAF, where the stack deploys them (layers/http/origin-verify.ts). */
  frontDoor?: boolean;
}

export function httpFunction(service: string, step: HttpStep, opts: HttpFunctionOptions = {}) {
  const metrics = createMetrics(service);
  const chain = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .use(apiTiming(metrics))
    .use(httpErrors());
  if (opts.frontDoor) chain.use(requireFrontDoor());
  return chain.handler(step);
}
