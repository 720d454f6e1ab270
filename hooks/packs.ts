// Packs: an integrator's folder of hooks with a manifest (callhook.pack.json) naming the pack, its
// version, the hooks it provides (in order), a JSON Schema for its own settings and the hosts its hooks
// need to call. The host validates the manifest and the pack's settings before loading any of its hooks;
// the settings check (hooks/settings-check.ts) does the same at start-up, so a broken pack stops `run`.
//
// Network access is the operator's decision: a pack reaches only what `hooks.packs[i].allow_hosts` in the
// settings approves. The manifest's `allow_hosts` may narrow that list (the pack says it needs less), never
// widen it; what it asks for beyond the approval is refused and reported.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseJsonText } from '../core/settings/json.js';
import { canonicalEntry } from '../sandbox/allow-hosts.js';
import { HOOK_POINT_NAMES, type HookPointName, type JsonSchema } from './catalogue.js';
import type { JsonValue } from './engine.js';
import { schemaProblems, type SchemaProblem } from './validation.js';

export const PACK_MANIFEST = 'callhook.pack.json';

export interface PackManifest {
  name: string;
  version: string;
  description: string;
  hooks: Array<{ hook: HookPointName; file: string }>;
  settings_schema: JsonSchema;
  /** Absent: the pack takes what the operator approved; present: at most these (narrowing). */
  allow_hosts?: string[];
}

const HOST_PORT = '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$';

export const packManifestSchema: JsonSchema = {
  type: 'object',
  required: ['name', 'version', 'hooks'],
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    name: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$', maxLength: 64 },
    version: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+([-+][0-9A-Za-z.-]+)?$' },
    description: { type: 'string', default: '' },
    hooks: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['hook', 'file'],
        additionalProperties: false,
        properties: {
          hook: { type: 'string', enum: [...HOOK_POINT_NAMES] },
          file: { type: 'string', pattern: '^[^/\\\\]+\\.ts$' },
        },
      },
    },
    settings_schema: { type: 'object', default: { type: 'object' } },
    allow_hosts: { type: 'array', items: { type: 'string', pattern: HOST_PORT } },
  },
};

// Compiled when the first pack is read (most runs have no pack); the schema is meta-checked by a test.
let manifestValidator: ValidateFunction | null = null;
function validateManifest(value: unknown): { ok: true } | { ok: false; detail: string } {
  manifestValidator ??= new Ajv({ allErrors: true, strict: false, useDefaults: true, validateSchema: false }).compile(packManifestSchema);
  if (manifestValidator(value)) return { ok: true };
  return { ok: false, detail: (manifestValidator.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''}`).join('; ') };
}

export type PackErrorCode = 'PACK_MISSING' | 'PACK_MANIFEST' | 'PACK_SETTINGS';

export class PackError extends Error {
  constructor(
    readonly code: PackErrorCode,
    /** The file at fault: the manifest (PACK_MISSING, PACK_MANIFEST) or the pack folder. */
    readonly file: string,
    message: string,
    /** For PACK_SETTINGS: each problem at its JSON pointer inside the pack's settings. */
    readonly problems: readonly SchemaProblem[] = [],
    readonly line?: number,
    readonly column?: number,
  ) {
    super(message);
  }
}

export interface LoadedPack {
  dir: string;
  manifest: PackManifest;
  /** The pack's settings with its settings_schema's defaults applied. */
  settings: JsonValue;
  /** What its hooks may reach: the operator's approval, narrowed by the manifest. */
  allowHosts: string[];
  /** Entries the manifest asks for that the operator did not approve (refused). */
  refusedHosts: string[];
}

/** The manifest's narrowing of the operator's approval, compared in canonical host:port form. */
export function effectiveAllowHosts(approved: readonly string[], requested: readonly string[] | undefined): { allowHosts: string[]; refusedHosts: string[] } {
  if (requested === undefined) return { allowHosts: [...approved], refusedHosts: [] };
  const approvedSet = new Set(approved.map((e) => canonicalEntry(e) ?? e));
  const allowHosts: string[] = [];
  const refusedHosts: string[] = [];
  for (const entry of requested) (approvedSet.has(canonicalEntry(entry) ?? entry) ? allowHosts : refusedHosts).push(entry);
  return { allowHosts, refusedHosts };
}

async function isDirectory(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

/**
 * Reads and validates a pack's manifest and the settings given for it (defaults applied to a copy);
 * throws PackError naming the file and what is wrong.
 */
export async function readPack(dir: string, settings: JsonValue, approvedHosts: readonly string[] = []): Promise<LoadedPack> {
  const file = path.join(dir, PACK_MANIFEST);
  if (!(await isDirectory(dir))) throw new PackError('PACK_MISSING', dir, `pack folder ${dir} does not exist`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PackError(code === 'ENOENT' ? 'PACK_MISSING' : 'PACK_MANIFEST', file, code === 'ENOENT' ? `${dir} has no ${PACK_MANIFEST} (not a pack folder)` : `cannot read ${file} (${code ?? 'error'})`);
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    const first = parsed.problems[0];
    throw new PackError('PACK_MANIFEST', file, `${file}:${first?.line ?? 1}:${first?.column ?? 1}: ${first?.message ?? 'not JSON'}`, [], first?.line, first?.column);
  }
  const raw = parsed.value;
  const valid = validateManifest(raw);
  if (!valid.ok) throw new PackError('PACK_MANIFEST', file, `${file}: invalid manifest: ${valid.detail}`);
  const manifest = raw as unknown as PackManifest;
  const withDefaults: JsonValue = settings === null || typeof settings !== 'object' || Array.isArray(settings) ? {} : structuredClone(settings);
  const problems = schemaProblems(manifest.settings_schema, withDefaults);
  if (problems.length > 0) {
    const detail = problems.map((p) => `${p.pointer === '' ? '(root)' : p.pointer} ${p.message}`).join('; ');
    throw new PackError('PACK_SETTINGS', file, `settings for pack ${manifest.name}@${manifest.version} do not match its settings_schema: ${detail}`, problems);
  }
  return { dir, manifest, settings: withDefaults, ...effectiveAllowHosts(approvedHosts, manifest.allow_hosts) };
}
