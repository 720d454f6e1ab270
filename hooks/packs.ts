// Packs: an integrator's folder of hooks with a manifest (callhook.pack.json) naming the pack, its
// version, the hooks it provides (in order), a JSON Schema for its own settings and the hosts its hooks
// may call. The host validates the manifest and the pack's settings before loading any of its hooks.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv } from 'ajv';
import { HOOK_POINT_NAMES, type HookPointName, type JsonSchema } from './catalogue.js';
import type { JsonValue } from './engine.js';
import { checkWithDefaults } from './validation.js';

export const PACK_MANIFEST = 'callhook.pack.json';

export interface PackManifest {
  name: string;
  version: string;
  description: string;
  hooks: Array<{ hook: HookPointName; file: string }>;
  settings_schema: JsonSchema;
  allow_hosts: string[];
}

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
    allow_hosts: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
  },
};

const manifestValidator = new Ajv({ allErrors: true, strict: false, useDefaults: true }).compile(packManifestSchema);

export class PackError extends Error {
  constructor(
    readonly code: 'PACK_MANIFEST' | 'PACK_SETTINGS',
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

export interface LoadedPack {
  dir: string;
  manifest: PackManifest;
  settings: JsonValue;
}

/** Reads and validates a pack's manifest and the settings given for it; throws PackError naming the file and field. */
export async function readPack(dir: string, settings: JsonValue): Promise<LoadedPack> {
  const file = path.join(dir, PACK_MANIFEST);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new PackError('PACK_MANIFEST', file, `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!manifestValidator(raw)) {
    const detail = (manifestValidator.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''}`).join('; ');
    throw new PackError('PACK_MANIFEST', file, `${file}: invalid manifest: ${detail}`);
  }
  const manifest = raw as PackManifest;
  const withDefaults: JsonValue = settings === null || typeof settings !== 'object' ? {} : structuredClone(settings);
  const invalid = checkWithDefaults(manifest.settings_schema, withDefaults);
  if (invalid !== null) {
    throw new PackError('PACK_SETTINGS', file, `settings for pack ${manifest.name}@${manifest.version} do not match its settings_schema: ${invalid}`);
  }
  return { dir, manifest, settings: withDefaults };
}
