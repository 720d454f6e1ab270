// The settings file's schema, composed from the section schemas in types/settings/*.schema.json: each
// file is one top-level key of the settings file, named by its `title`. Adding a section is adding a
// file; the loader, the generated types (types/settings.d.ts) and docs/settings.md pick it up.
//
// Keywords the sections may use beyond plain draft-07 (checked by the loader's ajv):
//   "format": "regex"      a JavaScript regular expression as the code compiles it (new RegExp(s), no flags)
//   "format": "path"       a file or folder; relative values are resolved against the settings file's folder
//                          (defaults: against the callhook installation), '' stays '' (= none)
//   "format": "time-zone"  an IANA time zone name, or '' (= the connector host's zone)
//   "format": "host-port"  an http allow-list entry: host:port or [v6]:port (sandbox/allow-hosts.ts)
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isJsonObject as isObject, type JsonSchema } from '../json-schema.js';

export type { JsonSchema };

/** The callhook installation: where the schemas, the demo data and the example hooks live. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Folder of the section schemas. */
export const SECTION_SCHEMA_DIR = path.join(PACKAGE_ROOT, 'types', 'settings');

export interface SectionSchema {
  /** The section's key in the settings file (the schema's `title`). */
  name: string;
  /** The schema file. */
  file: string;
  schema: JsonSchema;
}

/** Every `*.schema.json` of the folder, in file-name order. A malformed schema file is a programming error (throws). */
export function readSectionSchemas(dir: string = SECTION_SCHEMA_DIR): SectionSchema[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.schema.json')).sort();
  const seen = new Map<string, string>();
  return files.map((f) => {
    const file = path.join(dir, f);
    const schema: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!isObject(schema)) throw new Error(`${file}: a settings section schema must be a JSON object`);
    const name = schema.title;
    if (typeof name !== 'string' || !/^[a-z][a-z0-9_]*$/.test(name)) {
      throw new Error(`${file}: "title" must name the section in snake_case (it is the section's key in the settings file)`);
    }
    if (schema.type !== 'object') throw new Error(`${file}: a settings section must be "type": "object"`);
    const other = seen.get(name);
    if (other !== undefined) throw new Error(`${file}: section "${name}" is already defined by ${other}`);
    seen.set(name, file);
    return { name, file, schema };
  });
}

function usesRef(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(usesRef);
  if (!isObject(node)) return false;
  return '$ref' in node || Object.values(node).some(usesRef);
}

/**
 * The schema of the whole settings file: one property per section (a missing section is all defaults),
 * no other keys. Sections are inlined: their `$schema` and `$id` are dropped (only the root names the
 * draft), so a section schema must be self-contained (no `$ref`).
 */
export function composeSettingsSchema(sections: SectionSchema[] = readSectionSchemas()): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const { name, file, schema } of sections) {
    if (usesRef(schema)) throw new Error(`${file}: a settings section schema must be self-contained (no $ref)`);
    const { $schema: _draft, $id: _id, ...rest } = schema;
    properties[name] = { ...rest, default: rest.default ?? {} };
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'callhook/settings',
    title: 'Settings',
    description:
      'The callhook settings file: one JSON object with one key per section. Every key is optional; a missing key takes its default, so an empty file (or no file) is the demo configuration.',
    type: 'object',
    additionalProperties: false,
    properties,
  };
}
