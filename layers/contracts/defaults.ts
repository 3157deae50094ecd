/** Defaults that the functions, the local stack and the CDK stack must agree on. */
export const DEFAULTS = {
  /** Largest upload accepted. */
  maxUploadBytes: 200 * 1024 * 1024,
  /** Longest input accepted (20 minutes). */
  maxDurationSeconds: 1200,
  /** Lifetime of a presigned upload form. */
  uploadUrlSeconds: 900,
  /** Lifetime of presigned download links. */
  downloadUrlSeconds: 3600,
} as const;
