/**
 * In AWS the job routes sit behind CloudFront + WAF (per-client rate limit). CloudFront adds a
 * secret header; a request without it came straight to the execute-api URL, around the limit,
 * and is refused. Unset (local mode, or a stack without the front door): no check.
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { timingSafeEqual } from 'node:crypto';
import { ENV, readOptional } from '../core/env.js';
import { ForbiddenError } from '../core/errors.js';

export const ORIGIN_VERIFY_HEADER = 'x-origin-verify';
export const ORIGIN_VERIFY_ENV = ENV.originVerify;

export function originVerified(event: APIGatewayProxyEventV2, expected: string | undefined): boolean {
  if (!expected) return true;
  const got = Buffer.from(event.headers?.[ORIGIN_VERIFY_HEADER] ?? '');
  const want = Buffer.from(expected);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** middy middleware: before the handler, refuse requests that did not come through the front door. */
export function requireFrontDoor(expected = readOptional(ENV.originVerify)): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2> {
  return {
    before: async (request) => {
      if (!originVerified(request.event, expected)) throw new ForbiddenError('call the API through its published URL (ApiUrl)');
    },
  };
}
