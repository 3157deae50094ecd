import { defineConfig } from 'vite';

// The upload page: static files, served by `npm start` and deployable behind CloudFront.
export default defineConfig({
  root: import.meta.dirname,
  base: './',
  build: { outDir: '../dist/web', emptyOutDir: true, target: 'es2022' },
  logLevel: 'warn',
});
