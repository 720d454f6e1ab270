// Secrets never reach a log line, an outcome's description or its snippet: the webhook code, the client
// secret and every access/refresh token this client has held are replaced wherever they appear, and so
// is anything that looks like a credential in a URL or a JSON answer (an uploadUrl's `auth=`, a token
// endpoint's answer), even when this client has not seen that value.

export const REDACTED = '[redacted]';
const MAX_REMEMBERED = 32;

export class Redactor {
  private readonly secrets: string[] = [];

  /** Remembers a secret (short values are not secrets worth matching: they would mangle ordinary text). */
  add(secret: string): void {
    if (secret.length < 6 || this.secrets.includes(secret)) return;
    this.secrets.push(secret);
    if (this.secrets.length > MAX_REMEMBERED) this.secrets.shift();
    this.secrets.sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
    return out
      .replace(/([?&](?:auth|access_token|refresh_token|client_secret|token)=)[^&\s"'<>]*/gi, `$1${REDACTED}`)
      .replace(/("(?:access_token|refresh_token|client_secret|auth|application_token)"\s*:\s*)"[^"]*"/gi, `$1"${REDACTED}"`)
      .replace(/(\/rest\/\d+\/)[A-Za-z0-9]{6,}(\/)/g, `$1${REDACTED}$2`);
  }
}
