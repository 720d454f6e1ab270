// Extra CA certificates for the CRM's HTTPS (crm.ca_file): an on-premise Bitrix24 or a TLS-inspecting
// proxy signs with its own CA. The file's certificates are added to Node's bundled roots (never replace
// them), so a cloud portal keeps working with the same setting. Read once at client creation: a missing or
// non-PEM file stops start-up with an error naming the setting.
import { readFileSync } from 'node:fs';
import { Agent, type AgentOptions } from 'node:https';
import { rootCertificates } from 'node:tls';

export class CaFileError extends Error {
  readonly code = 'CRM_CA_FILE_INVALID';
  constructor(file: string, problem: string) {
    super(`crm.ca_file: ${file}: ${problem}`);
    this.name = 'CaFileError';
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificates of `file` (throws CaFileError naming the setting). */
export function readCaFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CaFileError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}): give the path of a PEM file with the CA certificate(s)`);
  }
  const certs = text.match(PEM_CERT) ?? [];
  if (certs.length === 0) throw new CaFileError(file, 'holds no PEM certificate (-----BEGIN CERTIFICATE-----): convert a DER file with `openssl x509 -inform der -in ca.cer -out ca.pem`');
  return certs;
}

/** An https agent trusting the system's roots plus `caFile`'s; undefined when no file is set (Node's defaults). */
export function httpsAgentFor(caFile: string | undefined, options: AgentOptions = {}): Agent | undefined {
  if (caFile === undefined || caFile === '') return undefined;
  return new Agent({ keepAlive: true, ...options, ca: [...rootCertificates, ...readCaFile(caFile)] });
}

/** TLS verification failures: the answer's description says what to set. */
export const TLS_TRUST_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT',
]);

export function tlsHint(code: string): string {
  return TLS_TRUST_CODES.has(code) ? ' — the CRM\'s certificate is not signed by a trusted CA: if it uses its own CA, put that CA\'s PEM file in crm.ca_file' : '';
}
