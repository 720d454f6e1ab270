// Generates types/settings.d.ts (json-schema-to-typescript: one interface per section plus Settings, the
// schema descriptions as doc comments) and docs/settings.md (every key: type, default, description; an
// example file) from types/settings/*.schema.json, so neither can drift from the schemas. Run by
// `npm run types` (types/generate.ts) or directly: node bin/run-ts.js core/settings/generate.ts
//
// The types describe the settings AFTER the loader applied the defaults: a key with a default is
// required in the type, so code reading `settings.hooks.folder` needs no `?? default`.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';
import { isJsonObject as isObject } from '../json-schema.js';
import { PACKAGE_ROOT, composeSettingsSchema, readSectionSchemas, type JsonSchema, type SectionSchema } from './schema.js';

const BANNER = '// GENERATED from types/settings/*.schema.json by `npm run types` (core/settings/generate.ts). DO NOT EDIT BY HAND.\n';

function pascal(name: string): string {
  return name.split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

/** The TypeScript interface of a section: `hooks` → HooksSettings. */
export function sectionTypeName(section: string): string {
  return `${pascal(section)}Settings`;
}

/** Keywords holding a map of name → subschema, a subschema, or a list of subschemas; everything else is data. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions', '$defs']);
const SCHEMA_ONE = new Set(['items', 'additionalProperties', 'additionalItems', 'propertyNames', 'contains', 'not', 'if', 'then', 'else']);
const SCHEMA_LIST = new Set(['anyOf', 'allOf', 'oneOf']);

/**
 * The schema as the loader's output looks: every property with a default is required (the loader fills
 * it), a leaf's default is named in its doc comment, and `$id`s are dropped so interfaces are named by title.
 */
function afterDefaults(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(afterDefaults);
  if (!isObject(schema)) return schema;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === '$id') continue;
    if (SCHEMA_MAPS.has(k) && isObject(v)) out[k] = Object.fromEntries(Object.entries(v).map(([name, sub]) => [name, afterDefaults(sub)]));
    else if (SCHEMA_ONE.has(k) || SCHEMA_LIST.has(k)) out[k] = afterDefaults(v);
    else out[k] = v;
  }
  if ('default' in schema && !isObject(schema.properties)) {
    const text = typeof schema.description === 'string' ? `${schema.description}\n\n` : '';
    out.description = `${text}@default ${JSON.stringify(schema.default)}`;
  }
  if (isObject(schema.properties)) {
    const required = new Set(Array.isArray(schema.required) ? schema.required.filter((k): k is string => typeof k === 'string') : []);
    for (const [k, v] of Object.entries(schema.properties)) if (isObject(v) && 'default' in v) required.add(k);
    out.required = Object.keys(schema.properties).filter((k) => required.has(k));
  }
  return out;
}

export async function renderSettingsDts(sections: SectionSchema[] = readSectionSchemas()): Promise<string> {
  const root = composeSettingsSchema(sections);
  const properties = root.properties as Record<string, JsonSchema>;
  const typed: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(properties)) {
    // The root's own description says a section may be left out; in the type every section is there.
    const { default: _default, ...rest } = schema;
    typed[name] = { ...(afterDefaults(rest) as JsonSchema), title: sectionTypeName(name) };
  }
  const schema = { title: 'Settings', description: root.description, type: 'object', additionalProperties: false, properties: typed, required: Object.keys(typed) };
  const ts = await compile(
    schema as Parameters<typeof compile>[0],
    'Settings',
    { bannerComment: '', style: { singleQuote: true, printWidth: 120 } },
  );
  return `${BANNER}${ts}`;
}

// ------------------------------------------------------------------ docs/settings.md

/** An example settings file; a test loads it, so it stays valid. */
export const EXAMPLE_SETTINGS = `{
  "cel": {
    "source": "mariadb",
    "mariadb": { "host": "10.0.0.5", "user": "callhook", "password": "change-me", "database": "asteriskcdrdb" }
  },
  "calls": {
    "trunk_channel_patterns": ["^PJSIP/my-provider-"],
    "pbx_time_zone": "Europe/Moscow"
  },
  "numbers": {
    "prefixes": ["+7495", "8495", "+7", "8", "7"],
    "auto_replace": [{ "pattern": "^\\\\+?7(\\\\d{10})$", "replacement": "8$1" }]
  },
  "hooks": {
    "folder": "hooks",
    "points": { "process_client_phone": false },
    "budgets": { "process_registration_params": 3000 },
    "allow_hosts": ["crm-helper.example.com:443"]
  },
  "sandbox": { "memory_mb": 64, "http": { "timeout_ms": 3000 } },
  "log": { "level": "info" }
}
`;

const FORMATS: Record<string, string> = { regex: 'regular expression', path: 'path', 'time-zone': 'IANA time zone', 'host-port': 'host:port' };

function range(s: JsonSchema): string {
  const min = typeof s.minimum === 'number' ? s.minimum : undefined;
  const max = typeof s.maximum === 'number' ? s.maximum : undefined;
  if (min !== undefined && max !== undefined) return ` ${min}–${max}`;
  if (min !== undefined) return ` ≥ ${min}`;
  if (max !== undefined) return ` ≤ ${max}`;
  return '';
}

/** 'string' → 'strings', 'regular expression' → 'regular expressions'; compound texts stay as they are. */
function plural(text: string): string {
  if (text === 'host:port') return 'host:port entries';
  return /^(string|path|regular expression|integer|number|boolean|IANA time zone)$/.test(text) ? `${text}s` : text;
}

function typeText(s: JsonSchema): string {
  if (Array.isArray(s.enum)) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' or ');
  const format = typeof s.format === 'string' ? FORMATS[s.format] : undefined;
  switch (s.type) {
    case 'string':
      return format ?? (typeof s.pattern === 'string' ? `string matching \`${s.pattern}\`` : 'string');
    case 'integer':
      return `integer${range(s)}`;
    case 'number':
      return `number${range(s)}`;
    case 'boolean':
      return 'boolean';
    case 'array':
      return isObject(s.items) ? `array of ${isObject(s.items.properties) ? 'objects' : plural(typeText(s.items))}${s.uniqueItems === true ? ' (no duplicates)' : ''}` : 'array';
    case 'object': {
      if (isObject(s.properties)) return 'object';
      return isObject(s.additionalProperties) ? `object: key → ${typeText(s.additionalProperties)}` : 'object (any keys)';
    }
    default:
      return 'any';
  }
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n+/g, ' ');
}

function defaultText(s: JsonSchema): string {
  if (!('default' in s)) return isObject(s.properties) ? '' : '(required)';
  if (isObject(s.properties)) return '';
  return `\`${JSON.stringify(s.default)}\``;
}

/** One table row per key, depth first: `cel.replay.path`, `hooks.packs[].path`. */
function rows(prefix: string, s: JsonSchema, out: string[]): void {
  const notes: string[] = [];
  if (typeof s.description === 'string') notes.push(s.description);
  if (isObject(s.propertyNames) && Array.isArray(s.propertyNames.enum)) {
    notes.push(`Keys: ${s.propertyNames.enum.map((v) => `\`${String(v)}\``).join(', ')}.`);
  }
  out.push(`| \`${prefix}\` | ${cell(typeText(s))} | ${cell(defaultText(s))} | ${cell(notes.join(' '))} |`);
  if (isObject(s.properties)) {
    for (const [k, v] of Object.entries(s.properties)) if (isObject(v)) rows(`${prefix}.${k}`, v, out);
  } else if (s.type === 'array' && isObject(s.items) && isObject(s.items.properties)) {
    for (const [k, v] of Object.entries(s.items.properties)) if (isObject(v)) rows(`${prefix}[].${k}`, v, out);
  }
}

/** The key table of one section (the README shows the sandbox limits with it). */
export function renderSectionTable(section: string, sections: SectionSchema[] = readSectionSchemas()): string {
  const properties = composeSettingsSchema(sections).properties as Record<string, JsonSchema>;
  const schema = properties[section];
  if (!schema || !isObject(schema.properties)) throw new Error(`no settings section '${section}'`);
  const out: string[] = [];
  for (const [k, v] of Object.entries(schema.properties)) if (isObject(v)) rows(`${section}.${k}`, v, out);
  return ['| Key | Type | Default | Description |', '|---|---|---|---|', ...out].join('\n');
}

export function renderSettingsDoc(sections: SectionSchema[] = readSectionSchemas()): string {
  const root = composeSettingsSchema(sections);
  const properties = root.properties as Record<string, JsonSchema>;
  const toc = Object.keys(properties).map((name) => `[\`${name}\`](#${name})`).join(', ');
  const blocks = Object.entries(properties).map(([name, schema]) => {
    const out: string[] = [];
    if (isObject(schema.properties)) {
      for (const [k, v] of Object.entries(schema.properties)) if (isObject(v)) rows(`${name}.${k}`, v, out);
    }
    return `## ${name}

${String(schema.description ?? '')}

TypeScript: \`${sectionTypeName(name)}\` in types/settings.d.ts.

| Key | Type | Default | Description |
|---|---|---|---|
${out.join('\n')}
`;
  });
  return `<!-- GENERATED from types/settings/*.schema.json by \`npm run types\` (core/settings/generate.ts). DO NOT EDIT BY HAND. -->
# Settings

callhook reads ONE settings file, a JSON object with one key per section: ${toc}. Every key is optional;
a missing key takes its default, and with no file at all (\`callhook run\` without \`--settings\`) every key is
its default: the demo (the bundled CEL recording through the example hooks). Each section's schema is
\`types/settings/<section>.schema.json\`; its \`title\` is the section's key, so a new schema file is a new section.

- **Validated at start.** Unknown keys (with a "did you mean" suggestion), wrong types, values out of range,
  regular expressions that do not compile and unknown time zones are refused, every problem on its own line:
  \`settings.json: /hooks/foldr: unknown key (did you mean "folder"?)\`; a JSON syntax error is
  \`settings.json:3:7: <message>\`. The connector does not start with a bad file.
- **Paths** (type "path" below): a relative path in the file is resolved against the settings file's folder;
  a default is resolved against the callhook installation, so \`npx callhook run\` works from any directory.
  An empty path means none.
- **Secrets**: \`cel.mariadb.password\` and any key whose name contains password, secret or token (or is
  \`authorization\`, \`webhook_url\`) are never printed or logged; \`callhook settings\` shows them as \`"***"\`.
- \`callhook settings [--settings file]\` validates a file and prints the effective settings (defaults filled in,
  paths resolved) as JSON; it exits 1 with the problems on stderr when the file is not valid.
- In code: \`loadSettings({ file })\` (core/settings) returns \`Settings\` (types/settings.d.ts) or throws
  \`SettingsError\`.

## Example

\`\`\`json
${EXAMPLE_SETTINGS.trimEnd()}
\`\`\`

${blocks.join('\n')}`;
}

/** Writes types/settings.d.ts and docs/settings.md under `root` from root/types/settings/*.schema.json; returns the files written. */
export async function generateSettingsTypesAndDocs(root: string = PACKAGE_ROOT): Promise<string[]> {
  const sections = readSectionSchemas(path.join(root, 'types', 'settings'));
  const dts = path.join(root, 'types', 'settings.d.ts');
  const md = path.join(root, 'docs', 'settings.md');
  mkdirSync(path.dirname(dts), { recursive: true });
  mkdirSync(path.dirname(md), { recursive: true });
  writeFileSync(dts, await renderSettingsDts(sections));
  writeFileSync(md, renderSettingsDoc(sections));
  return [dts, md];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const f of await generateSettingsTypesAndDocs()) process.stdout.write(`wrote ${path.relative(process.cwd(), f)}\n`);
}
