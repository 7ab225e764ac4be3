import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FerryError } from '../../src/protocol/errors.js';
import { createSelfSigned } from './self-signed.js';

/** The certificate and key the server presents, and what a client pins of it. */
export interface TlsIdentity {
  /** PEM: the certificate, then any chain. */
  cert: string;
  key: string;
  /** `SHA256:` and the unpadded base64 of the SHA-256 of the leaf certificate (DER), as ssh writes key fingerprints. */
  fingerprint: string;
  /** The same digest as colon-separated hex, as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprintHex: string;
  /** 'files' when the administrator gave them, 'generated' when the server made its own. */
  source: 'files' | 'generated';
  /** Where they were read from. */
  certFile: string;
  keyFile: string;
}

/** Where a server keeps the self-signed identity it made: `<root>/tls/server.{crt,key}`. */
export function generatedTlsFiles(root: string): { certFile: string; keyFile: string } {
  const dir = path.join(root, 'tls');
  return { certFile: path.join(dir, 'server.crt'), keyFile: path.join(dir, 'server.key') };
}

/** The fingerprints of the leaf certificate (the first) of a PEM bundle. */
export function certificateFingerprints(certPem: string): { fingerprint: string; fingerprintHex: string } {
  const leaf = new X509Certificate(certPem);
  const digest = createHash('sha256').update(leaf.raw).digest();
  return { fingerprint: `SHA256:${digest.toString('base64').replace(/=+$/, '')}`, fingerprintHex: leaf.fingerprint256 };
}

/**
 * Reads the administrator's certificate and key (PEM; the certificate file may hold the chain
 * after the leaf). EINVAL naming the file when one cannot be read or parsed, or when the key is
 * not the certificate's.
 */
export async function readTlsFiles(certFile: string, keyFile: string, source: TlsIdentity['source'] = 'files'): Promise<TlsIdentity> {
  const read = async (file: string, what: string) => {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      throw new FerryError('EINVAL', `cannot read the TLS ${what} ${file}: ${(error as Error).message}`);
    }
  };
  const [cert, key] = await Promise.all([read(certFile, 'certificate'), read(keyFile, 'key')]);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (error) {
    throw new FerryError('EINVAL', `${certFile} holds no PEM certificate: ${(error as Error).message}`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new FerryError('EINVAL', `${keyFile} holds no PEM private key (an encrypted key is not supported): ${(error as Error).message}`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new FerryError('EINVAL', `${keyFile} is not the key of the certificate in ${certFile}`);
  }
  return { cert, key, ...certificateFingerprints(cert), source, certFile, keyFile };
}

/**
 * The server's identity: the given files, or else the self-signed certificate kept under
 * `<root>/tls/` (made on first use: ECDSA P-256, 20 years, for this machine's name, `localhost`,
 * the loopback addresses and `hostNames`; the key 0600 in a 0700 directory, written beside and
 * renamed into place so a crash leaves no half pair). The same identity at every start, so the
 * fingerprint clients pinned stays true.
 */
export async function loadTlsIdentity(root: string, files: { certFile?: string; keyFile?: string }, hostNames: string[] = []): Promise<TlsIdentity> {
  if (files.certFile !== undefined || files.keyFile !== undefined) {
    if (files.certFile === undefined || files.keyFile === undefined) {
      throw new FerryError('EINVAL', 'a TLS certificate needs its key, and a key its certificate: give both (--tls-cert and --tls-key)');
    }
    return readTlsFiles(files.certFile, files.keyFile);
  }
  const generated = generatedTlsFiles(root);
  try {
    return await readTlsFiles(generated.certFile, generated.keyFile, 'generated');
  } catch (error) {
    // Missing is the first start; anything else (a damaged file) is the administrator's to look at.
    const missing = /ENOENT/.test((error as Error).message);
    if (!missing) throw error;
  }
  const names = [...new Set([os.hostname(), 'localhost', '127.0.0.1', '::1', ...hostNames.filter((name) => name !== '' && name !== '0.0.0.0' && name !== '::')])];
  const { cert, key } = createSelfSigned({ commonName: `ferry server ${os.hostname()}`, names });
  const dir = path.dirname(generated.keyFile);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await writeFile(`${generated.keyFile}.tmp`, key, { mode: 0o600 });
  await writeFile(`${generated.certFile}.tmp`, cert, { mode: 0o644 });
  // The key first: a certificate alone is never taken for a pair (readTlsFiles checks the match).
  await rename(`${generated.keyFile}.tmp`, generated.keyFile);
  await rename(`${generated.certFile}.tmp`, generated.certFile);
  return readTlsFiles(generated.certFile, generated.keyFile, 'generated');
}
