/**
 * A first-time user's commands print no warnings: npm reads the project's .npmrc without
 * complaint, `npx stem-splitter --help` prints only the usage, and `npm start` prints only its
 * banner (no AWS SDK Node-version warning). The clean `npm ci` itself is checked by .ci/run.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '../dev/models.js';

const run = promisify(execFile);
const quietEnv: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: 'false' };
delete quietEnv.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe('no warnings for a first-time user', () => {
  it('the .npmrc holds only settings npm knows (and keeps install scripts off)', async () => {
    const { stderr } = await run('npm', ['config', 'get', 'ignore-scripts'], { env: quietEnv });
    expect(stderr).toBe('');
    expect(readFileSync('.npmrc', 'utf8')).not.toMatch(/onnxruntime-node-install/);
  });

  it('npx stem-splitter --help prints the usage and nothing on stderr', async () => {
    const { stdout, stderr } = await run('npx', ['--no-install', 'stem-splitter', '--help'], { env: quietEnv });
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^usage:\n {2}stem-splitter separate/);
  });

  it('npm start prints its banner and no warnings, also once the API has been used', async () => {
    const port = await freePort();
    const proc = spawn('npm', ['start'], {
      env: { ...quietEnv, PORT: String(port), STEMS_LOCAL_DATA: tmpDir('quiet-start') }, detached: true,
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c) => { stdout += c; });
    proc.stderr.on('data', (c) => { stderr += c; });
    try {
      await expect.poll(() => stdout, { timeout: 90_000, interval: 200 }).toMatch(/Ctrl-C stops it\./);
      const res = await fetch(`http://127.0.0.1:${port}/jobs`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ filename: 'a.wav', contentType: 'audio/wav', bytes: 10 }),
      });
      expect(res.status).toBe(201);
      expect((await fetch(`http://127.0.0.1:${port}/jobs/${(await res.json()).jobId}`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 500));
      expect(stderr).toBe('');
      expect(stdout).not.toMatch(/warn/i);
    } finally {
      process.kill(-proc.pid!, 'SIGTERM');
    }
  }, 120_000);
});
