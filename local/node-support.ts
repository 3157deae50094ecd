/**
 * Imported first by local entry points. The AWS SDK warns on every start under Node < 22 that
 * SDK releases after January 2027 will need Node 22. This project pins its SDK in
 * package-lock.json and deploys on a newer Node (infra/image/Dockerfile), so a local user cannot
 * act on the warning; README says which Node to use. An explicit setting still wins.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
