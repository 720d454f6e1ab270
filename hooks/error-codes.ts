// Error codes of the hook host (a file that cannot become a hook, a result the host refuses), beside the
// sandbox's own codes (sandbox/errors.ts). Codes are stable: customers and support search for them.
import { HOOK_ERROR_MEANINGS } from '../sandbox/errors.js';

export const HOST_ERROR_MEANINGS = {
  HOOK_TYPECHECK: 'the file, or a helper it imports from its folder or pack, does not type-check against the generated call_full and hook types (file:line:col of the first error)',
  HOOK_UNKNOWN_POINT: 'the file names no hook point (by its name or defineHook), or not the one its pack manifest lists',
  HOOK_READ: 'the file could not be read',
  HOOK_MISSING: 'a file listed in a pack manifest is missing',
  HOOK_PATH_REFUSED: 'a recording path outside the recordings root (.., absolute escapes, symlinks out)',
  HOOK_HOST_ERROR: 'an unexpected failure inside the host around a hook call (the default is applied)',
  PACK_MISSING: 'a pack folder in hooks.packs does not exist, or holds no callhook.pack.json',
  PACK_MANIFEST: "a pack's callhook.pack.json is not valid JSON or does not match the manifest schema",
  PACK_SETTINGS: "a pack's settings (hooks.packs[i].settings) do not match its manifest's settings_schema",
} as const;

export type HostErrorCode = keyof typeof HOST_ERROR_MEANINGS;

/** Every code a hook's trace or status can carry, with its meaning: sandbox codes, then host codes. */
export function allErrorCodes(): Array<{ code: string; meaning: string; from: 'sandbox' | 'host' }> {
  return [
    ...Object.entries(HOOK_ERROR_MEANINGS).map(([code, meaning]) => ({ code, meaning, from: 'sandbox' as const })),
    ...Object.entries(HOST_ERROR_MEANINGS).map(([code, meaning]) => ({ code, meaning, from: 'host' as const })),
  ];
}

/** The Markdown table of every code (README.md holds it between error-codes markers; a test compares). */
export function renderErrorCodesTable(): string {
  const rows = allErrorCodes().map((c) => `| \`${c.code}\` | ${c.from} | ${c.meaning.replace(/\|/g, '\\|')} |`);
  return ['| code | raised by | meaning |', '|---|---|---|', ...rows].join('\n');
}
