/**
 * fetch() whose failures say which URL could not be reached and why. Node's own error says only
 * "fetch failed" and hides the reason (DNS, refused, timeout, TLS) in `cause`.
 */
import { NetworkError } from './errors.js';

const REASONS: Record<string, string> = {
  ENOTFOUND: 'host not found (offline, or a mistyped address?)',
  EAI_AGAIN: 'name lookup failed (offline?)',
  ECONNREFUSED: 'connection refused (nothing is listening there: is the server running, is the port right?)',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'timed out',
  UND_ERR_CONNECT_TIMEOUT: 'timed out connecting',
  ENETUNREACH: 'network unreachable (offline?)',
  EHOSTUNREACH: 'host unreachable (offline?)',
  UND_ERR_SOCKET: 'the connection closed unexpectedly',
};

/** Why a fetch failed, in words, from the error and its causes. */
export function networkReason(err: unknown): string {
  for (let e = err as { code?: string; message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code && REASONS[e.code]) return REASONS[e.code];
    if (e.code && e.message) return e.message; // e.g. certificate errors, which say it well
  }
  const inner = (err as { cause?: { message?: string } })?.cause?.message;
  return inner ?? (err as Error)?.message ?? String(err);
}

export async function fetchUrl(url: string | URL, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    throw new NetworkError(`could not reach ${String(url)}: ${networkReason(err)}`, { cause: err });
  }
}
