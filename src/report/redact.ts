/**
 * Secrets out of everything the evidence bundle carries (`sensor-proxy report`): a ticket attachment
 * is read by people who must not get the gateway's IoT Hub identity.
 *
 * - Any object key named like a secret (secret, key, password, token, credential, connection string,
 *   signature) has its value replaced, whatever the value is.
 * - In every string: the value of `SharedAccessKey=` / `SharedAccessSignature=` / `sig=` / `skn=`
 *   parts of connection strings and SAS tokens, `password=`/`token=` pairs, and PEM private key
 *   blocks.
 */
export const REDACTED = '[REDACTED]';

/** Key names whose values are secrets, e.g. `connectionString`, `SharedAccessKey`, `apiToken`, `keyFile`. */
const SECRET_KEY = /secret|key|passw(or)?d|token|credential|connection_?string|signature|^sas$|^auth/i;

/** `name=value` pairs in connection strings, SAS tokens, URLs and command lines. */
const SECRET_PAIR =
  /\b(SharedAccessKey|SharedAccessSignature|SharedAccessKeyName|sig|skn|password|passwd|pwd|token|secret|apikey|api_key|access_token)=([^;&\s"',]+)/gi;
const PEM_PRIVATE = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g;
/** A `SharedAccessSignature sr=...` token, as in an Authorization header. */
const SAS_TOKEN = /SharedAccessSignature\s+sr=[^\s"',]+/gi;

export function isSecretKey(name: string): boolean {
  return SECRET_KEY.test(name);
}

/** Redacts secrets inside one string (log lines, command output, config values). */
export function redactText(s: string): string {
  return s
    .replace(
      PEM_PRIVATE,
      (_m, kind: string) => `-----BEGIN ${kind}PRIVATE KEY-----${REDACTED}-----END ${kind}PRIVATE KEY-----`,
    )
    .replace(SAS_TOKEN, `SharedAccessSignature ${REDACTED}`)
    .replace(SECRET_PAIR, (_m, name: string) => `${name}=${REDACTED}`);
}

/** A deep copy of a JSON value with secret-named keys and secrets in strings redacted. */
export function redactValue(v: unknown): unknown {
  if (typeof v === 'string') return redactText(v);
  if (Array.isArray(v)) return v.map(redactValue);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v))
      out[k] = isSecretKey(k) && x !== null && x !== '' ? REDACTED : redactValue(x);
    return out;
  }
  return v;
}
