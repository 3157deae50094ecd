/** The one place errors become HTTP responses (API Gateway HTTP API, payload v2). */
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import type { MiddlewareObj } from '@middy/core';
import { asStemSplitterError, clientMessage, InvalidRequestError, logDetail } from '../core/errors.js';

const HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

export function json(statusCode: number, body: unknown): APIGatewayProxyResultV2 {
  return { statusCode, headers: HEADERS, body: JSON.stringify(body) };
}

export function errorResponse(err: unknown): APIGatewayProxyResultV2 {
  const e = asStemSplitterError(err);
  // internal details stay in the logs; the client gets a code and a safe message
  if (e.status >= 500) console.error(JSON.stringify({ level: 'error', code: e.code, ...logDetail(e.cause ?? e) }));
  return json(e.status, { error: { code: e.code, message: clientMessage(e) } });
}

/** Parses a JSON body (possibly base64-encoded by API Gateway). */
export function parseJsonBody(body: string | undefined, isBase64Encoded?: boolean): unknown {
  if (!body) throw new InvalidRequestError('request body is required');
  if (body.length > 64 * 1024) throw new InvalidRequestError('request body is too large');
  const text = isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidRequestError('request body is not valid JSON');
  }
}

/** middy middleware: any error thrown by an HTTP handler becomes a JSON error response. */
export function httpErrors(): MiddlewareObj<unknown, APIGatewayProxyResultV2> {
  return {
    onError: async (request) => {
      request.response = errorResponse(request.error);
    },
  };
}
