/** The one contract module: import from here in server, CLI, page and stack. */
export * from './api.js';
export * from './defaults.js';
export * from './errors.js';
export * from './media.js';
