import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { IssuerTlsConfig } from './config.js';
import { IssuerConfigError } from './errors.js';
import { fileSignature } from './file-signature.js';

/** A certificate chain and its private key, PEM. */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads the certificate and key and checks they belong together and form a usable context, so a bad
 * pair fails at start (or is refused at reload) instead of failing every handshake.
 */
export async function readTlsFiles(config: Pick<IssuerTlsConfig, 'certPath' | 'keyPath'>): Promise<TlsFiles> {
  let files: TlsFiles;
  try {
    files = { cert: await readFile(config.certPath), key: await readFile(config.keyPath) };
  } catch (cause) {
    throw new IssuerConfigError(
      `cannot read the TLS certificate ${config.certPath} or key ${config.keyPath}`,
      { cause },
    );
  }
  try {
    createSecureContext(files);
    new X509Certificate(files.cert);
  } catch (cause) {
    // The message names OpenSSL's complaint (key mismatch, bad PEM); never the key's bytes.
    throw new IssuerConfigError(
      `TLS certificate ${config.certPath} and key ${config.keyPath} are not a usable pair: ${(cause as Error).message}`,
      { cause },
    );
  }
  return files;
}

export interface CertificateReloader {
  stop(): void;
}

export type ReloadOutcome = { ok: true; validTo: string } | { ok: false; error: string };

/**
 * Polls the certificate and key files and applies a new pair once it has settled (two polls in a row
 * see the same files), the way the worker follows its client certificates: a renewal tool writing
 * the key and then the certificate is picked up as a pair, never half-way. A pair that does not load
 * is reported and the previous certificate keeps serving.
 */
export async function watchTlsFiles(
  config: IssuerTlsConfig,
  handlers: { apply: (files: TlsFiles) => void; onReload: (outcome: ReloadOutcome) => void },
): Promise<CertificateReloader> {
  const intervalMs = config.reloadIntervalMs ?? 5_000;
  const signature = async () =>
    `${await fileSignature(config.certPath)}|${await fileSignature(config.keyPath)}`;
  let applied = await signature();
  let lastSeen = applied;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const poll = async () => {
    const now = await signature();
    const settled = now === lastSeen;
    lastSeen = now;
    if (settled && now !== applied && !stopped) {
      applied = now;
      try {
        const files = await readTlsFiles(config);
        handlers.apply(files);
        handlers.onReload({ ok: true, validTo: new X509Certificate(files.cert).validTo });
      } catch (err) {
        handlers.onReload({ ok: false, error: (err as Error).message });
      }
    }
    schedule();
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void poll(), intervalMs);
    timer.unref();
  };
  schedule();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
