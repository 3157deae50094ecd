// Tests run as a development entry point: models whose files live in ../shared may load.
import { afterAll } from 'vitest';
import { removeTmpDirs } from '../dev/models.js';
import { enableSharedModels } from '../local/shared-models.js';

enableSharedModels();
// the folders a test file made (reference outputs, test models) go with it
afterAll(removeTmpDirs);
