/** GET /jobs/{id} — job state and progress; download links once done. */
import { httpFunction } from '../../layers/http/http-function.js';
import { json } from '../../layers/http/responses.js';
import { jobStatus } from '../../layers/jobs/job-status.js';
import { serviceDeps } from '../../layers/runtime/service.js';

const deps = serviceDeps();

export const handler = httpFunction('status', async (event) => json(200, await jobStatus(event.pathParameters?.id, deps)), { frontDoor: true });
