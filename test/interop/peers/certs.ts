// A throw-away self-signed certificate for TLS and WSS listeners of test peers, made with the
// openssl command line (the same tool Debian's peers link against). EC P-256 keeps it fast.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificate {
  keyPath: string;
  certPath: string;
  key: string;
  cert: string;
}

/**
 * Writes `key.pem` and `cert.pem` into `dir`: a one-day self-signed certificate whose subject
 * alternative names cover 127.0.0.1 and localhost, so a client may verify it by pinning it as CA.
 */
export async function makeSelfSignedCert(dir: string, name = 'peer'): Promise<TestCertificate> {
  const keyPath = join(dir, `${name}-key.pem`);
  const certPath = join(dir, `${name}-cert.pem`);
  await run('openssl', [
    'req', '-x509', '-nodes', '-days', '1',
    '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-keyout', keyPath, '-out', certPath,
    '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  return { keyPath, certPath, key: await readFile(keyPath, 'utf8'), cert: await readFile(certPath, 'utf8') };
}
