/**
 * The DTLS certificate every WebRTC leg presents: one self-signed ECDSA P-256 certificate per
 * media bridge, made at start. Browsers accept any certificate whose digest matches the SDP's
 * `a=fingerprint` (RFC 8122 §5), so no CA is involved.
 */
import { X509Certificate } from 'node:crypto';
import { CipherContext, HashAlgorithm, NamedCurveAlgorithm, SignatureAlgorithm, type SignatureHash } from 'werift';

export interface DtlsCertificate {
  certPem: string;
  keyPem: string;
  signatureHash: SignatureHash;
  /** `sha-256` fingerprint as `a=fingerprint` writes it: upper-case hex pairs joined by colons. */
  fingerprint: string;
}

export async function createDtlsCertificate(): Promise<DtlsCertificate> {
  const { certPem, keyPem, signatureHash } = await CipherContext.createSelfSignedCertificateWithKey(
    { signature: SignatureAlgorithm.ecdsa_3, hash: HashAlgorithm.sha256_4 },
    NamedCurveAlgorithm.secp256r1_23,
  );
  return { certPem, keyPem, signatureHash, fingerprint: new X509Certificate(certPem).fingerprint256 };
}
