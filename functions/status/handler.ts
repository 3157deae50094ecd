/** GET /jobs/{id} — job state and progress; download links once done. */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { httpErrors, json } from '../../layers/http/responses.js';
import { jobStatus } from '../../layers/jobs/job-status.js';
import { serviceDeps } from '../../layers/runtime/service.js';

const deps = serviceDeps();

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(httpErrors())
  .handler(async (event) => json(200, await jobStatus(event.pathParameters?.id, deps)));
