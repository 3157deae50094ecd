/** POST /jobs — validates the request, records the job, returns a presigned S3 POST. */
import { httpFunction } from '../../layers/http/http-function.js';
import { json, parseJsonBody } from '../../layers/http/responses.js';
import { createJob } from '../../layers/jobs/create-job.js';
import { serviceDeps } from '../../layers/runtime/service.js';

const deps = serviceDeps();

// job routes only answer requests that came through the front door (CloudFront + WAF) when one is deployed
export const handler = httpFunction('presign', async (event) => json(201, await createJob(parseJsonBody(event.body, event.isBase64Encoded), deps)), { frontDoor: true });
