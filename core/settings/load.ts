// loadSettings: reads ONE JSON settings file (no file = the demo, DEMO_SETTINGS), validates it against
// the schema composed from types/settings/*.schema.json (ajv, draft-07, defaults filled in, every
// problem reported), resolves relative paths, and returns the typed Settings. A file that is not valid
// is a SettingsError listing every problem as `<file>: <json pointer>: <message>`, or for a JSON syntax
// error `<file>:<line>:<col>: <message>`. No message ever contains a value from the file (secrets).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Settings } from '../../types/settings.js';
import { parseJsonText } from './json.js';
import { escapePointer, isJsonObject as isObject, regexProblem } from '../json-schema.js';
import { PACKAGE_ROOT, SECTION_SCHEMA_DIR, composeSettingsSchema, readSectionSchemas, type JsonSchema } from './schema.js';
import { canonicalEntry } from '../../sandbox/allow-hosts.js';
import { suggestKey } from './suggest.js';

export { suggestKey };

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export interface SettingsProblem {
  /** The settings file as the caller named it ('(defaults)' without a file). */
  file: string;
  /** JSON pointer of the offending key ('' = the whole file), for validation problems. */
  pointer?: string;
  /** For JSON syntax problems. */
  line?: number;
  column?: number;
  message: string;
}

export function formatProblem(p: SettingsProblem): string {
  if (p.line !== undefined) return `${p.file}:${p.line}:${p.column ?? 1}: ${p.message}`;
  return p.pointer ? `${p.file}: ${p.pointer}: ${p.message}` : `${p.file}: ${p.message}`;
}

/** A settings file that cannot be used; `message` has one line per problem. */
export class SettingsError extends Error {
  override name = 'SettingsError';
  constructor(readonly problems: SettingsProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

/**
 * The demo: what `callhook run` runs without a settings file. Every default, plus the example hooks (the
 * only place they are the default: a settings file without `hooks.folder` has no loose hooks, so a real
 * PBX never runs the demo's blacklist by accident). Paths resolve against the installation.
 */
export const DEMO_SETTINGS = { hooks: { folder: 'examples/hooks' } } as const;

export interface LoadSettingsOptions {
  /** The settings file (JSON). Absent = the demo (DEMO_SETTINGS over every default). Relative to `cwd`. */
  file?: string;
  /** Directory a relative `file` is resolved against (default: process.cwd()). */
  cwd?: string;
  /** Folder of the section schemas (default: this installation's types/settings); for tests. */
  schemaDir?: string;
}

// ------------------------------------------------------------------ formats


function isTimeZone(s: string): boolean {
  if (s === '') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: s });
    return true;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ validator

const validators = new Map<string, ValidateFunction>();

function validatorFor(schemaDir: string): ValidateFunction {
  const cached = validators.get(schemaDir);
  if (cached) return cached;
  // validateSchema off: checking our own schemas against the draft-07 meta-schema costs every start ~130 ms;
  // test/settings/schema-meta.test.ts does it once, in CI, for every schema compiled this way.
  const ajv = addFormats(new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: true, strictTypes: false, allowUnionTypes: true, validateSchema: false }));
  ajv.addFormat('regex', (s: string) => regexProblem(s) === null);
  ajv.addFormat('path', () => true);
  ajv.addFormat('time-zone', isTimeZone);
  ajv.addFormat('host-port', (s: string) => canonicalEntry(s) !== null);
  const validate = ajv.compile(composeSettingsSchema(readSectionSchemas(schemaDir)));
  validators.set(schemaDir, validate);
  return validate;
}

// ------------------------------------------------------------------ messages

function unknownKey(key: string, known: readonly string[]): string {
  const hint = suggestKey(key, known);
  return hint !== null ? `unknown key (did you mean "${hint}"?)` : known.length > 0 && known.length <= 12 ? `unknown key (known: ${known.join(', ')})` : 'unknown key';
}

const TYPE_NAMES: Record<string, string> = {
  integer: 'an integer', number: 'a number', string: 'a string', boolean: 'true or false', array: 'an array', object: 'an object', null: 'null',
};

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  if (typeof value === 'object') return 'an object';
  return typeof value === 'boolean' ? 'true/false' : `a ${typeof value}`;
}

/** One ajv error → a problem (null = reported by another error of the same cause). Never includes the value. */
function toProblem(file: string, e: ErrorObject): SettingsProblem | null {
  const at = e.instancePath;
  const parent = isObject(e.parentSchema) ? e.parentSchema : {};
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const known = isObject(parent.properties) ? Object.keys(parent.properties) : [];
      return { file, pointer: `${at}/${escapePointer(key)}`, message: unknownKey(key, known) };
    }
    case 'propertyNames': {
      const key = String((e.params as { propertyName: string }).propertyName);
      const names = isObject(parent.propertyNames) && Array.isArray(parent.propertyNames.enum) ? parent.propertyNames.enum.map(String) : [];
      return { file, pointer: `${at}/${escapePointer(key)}`, message: names.length > 0 ? unknownKey(key, names) : 'is not an allowed key here' };
    }
    case 'required': {
      const key = String((e.params as { missingProperty: string }).missingProperty);
      return { file, pointer: `${at}/${escapePointer(key)}`, message: 'is required' };
    }
    case 'type': {
      const wanted = String((e.params as { type: string }).type).split(',').map((t) => TYPE_NAMES[t] ?? t).join(' or ');
      return { file, pointer: at, message: `must be ${wanted} (found ${kindOf(e.data)})` };
    }
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ');
      return { file, pointer: at, message: `must be one of ${allowed}` };
    }
    case 'format': {
      const format = String((e.params as { format: string }).format);
      if (format === 'regex') {
        const reason = typeof e.data === 'string' ? regexProblem(e.data) : null;
        return { file, pointer: at, message: `must be a valid regular expression${reason ? ` (${reason})` : ''}` };
      }
      if (format === 'time-zone') return { file, pointer: at, message: 'must be an IANA time zone such as "Europe/Moscow" (or "" for this host\'s zone)' };
      if (format === 'host-port') return { file, pointer: at, message: 'must be host:port, e.g. "crm.example.com:443", "10.0.0.5:8080" or "[fd00::1]:443" (an entry always names its port)' };
      return { file, pointer: at, message: `must be a valid ${format}` };
    }
    case 'minLength':
      return { file, pointer: at, message: (e.params as { limit: number }).limit === 1 ? 'must not be empty' : `must have at least ${(e.params as { limit: number }).limit} characters` };
    case 'uniqueItems': {
      const { i, j } = e.params as { i: number; j: number };
      return { file, pointer: at, message: `must not repeat an item (items ${Math.min(i, j)} and ${Math.max(i, j)} are equal)` };
    }
    default:
      return { file, pointer: at, message: (e.message ?? 'is not valid').replace(/must NOT/g, 'must not') };
  }
}

function problemsOf(file: string, errors: readonly ErrorObject[]): SettingsProblem[] {
  const out: SettingsProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    // An invalid property name also yields the inner error of its propertyNames schema; the outer one says it all.
    if (e.propertyName !== undefined) continue;
    const p = toProblem(file, e);
    if (p === null) continue;
    const line = formatProblem(p);
    if (!seen.has(line)) {
      seen.add(line);
      out.push(p);
    }
  }
  return out;
}

// ------------------------------------------------------------------ paths

/**
 * Resolves every `format: "path"` string: values written in the file against the file's folder, defaults
 * against the installation. `given` is the same place in the file as written (undefined = defaulted).
 */
function resolvePaths(schema: unknown, value: unknown, given: unknown, fileDir: string): unknown {
  if (!isObject(schema)) return value;
  if (schema.format === 'path' && typeof value === 'string') {
    if (value === '' || path.isAbsolute(value)) return value;
    return path.resolve(given === undefined ? PACKAGE_ROOT : fileDir, value);
  }
  if (Array.isArray(value)) {
    const items = schema.items;
    return value.map((v, i) => resolvePaths(items, v, Array.isArray(given) ? given[i] : undefined, fileDir));
  }
  if (isObject(value)) {
    const props = isObject(schema.properties) ? schema.properties : {};
    const extra = schema.additionalProperties;
    const was = isObject(given) ? given : undefined;
    for (const [k, v] of Object.entries(value)) {
      value[k] = resolvePaths(k in props ? props[k] : extra, v, was?.[k], fileDir);
    }
  }
  return value;
}

// ------------------------------------------------------------------ load

function readProblem(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT') return 'settings file not found';
  if (code === 'EISDIR') return 'is a folder, not a settings file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return `cannot read the settings file (${typeof code === 'string' ? code : 'error'})`;
}

/**
 * Reads, validates and completes the settings. Throws SettingsError (every problem, one per line) when
 * the file is missing, is not JSON, or does not match the schema.
 */
export async function loadSettings(options: LoadSettingsOptions = {}): Promise<Settings> {
  const schemaDir = options.schemaDir ?? SECTION_SCHEMA_DIR;
  const validate = validatorFor(schemaDir);
  let label = '(defaults)';
  let fileDir = PACKAGE_ROOT;
  let data: unknown = structuredClone(DEMO_SETTINGS);
  if (options.file !== undefined) {
    label = options.file;
    const full = path.resolve(options.cwd ?? process.cwd(), options.file);
    fileDir = path.dirname(full);
    let text: string;
    try {
      text = await readFile(full, 'utf8');
    } catch (error) {
      throw new SettingsError([{ file: label, message: readProblem(error) }]);
    }
    const parsed = parseJsonText(text);
    if (!parsed.ok) throw new SettingsError(parsed.problems.map((p) => ({ file: label, ...p })));
    data = parsed.value;
  }
  const given = structuredClone(data);
  if (!validate(data)) throw new SettingsError(problemsOf(label, validate.errors ?? []));
  const schema = validate.schema;
  return resolvePaths(schema, data, given, fileDir) as Settings;
}
