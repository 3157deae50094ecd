// Tests run as a development entry point: models whose files live in ../shared may load.
import { enableSharedModels } from '../local/shared-models.js';

enableSharedModels();
