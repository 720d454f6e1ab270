// Renders types/call_full.d.ts (json-schema-to-typescript) and docs/call_full.md from the call_full
// schema, so types and docs cannot drift from the contract. `npm run types` writes them; a test fails
// when the committed files differ from what this renders.
import { compile } from 'json-schema-to-typescript';
import { isJsonObject as isObject } from '../json-schema.js';
import { callFullSchema, contractDefs, CONTRACT_DEFS, type JsonSchema } from './schema.js';

const BANNER = '// GENERATED from types/call_full.schema.json by `npm run types`. DO NOT EDIT BY HAND.\n';

function refName(ref: string): string {
  return ref.split('/').pop() ?? ref;
}

/**
 * json-schema-to-typescript turns a `$ref` with a sibling `description` into a fresh copy of the
 * referenced type (CallNumber1, CallNumber2, ...). Pointing such a property at the named type with
 * `tsType` keeps one declaration per sub-object while the description still becomes a doc comment.
 */
function namedRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(namedRefs);
  if (!isObject(node)) return node;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node)) out[k] = namedRefs(v);
  if (typeof out.$ref === 'string' && Object.keys(out).length > 1) {
    out.tsType = refName(out.$ref);
    delete out.$ref;
  }
  return out;
}

export async function renderCallFullDts(): Promise<string> {
  const defs = namedRefs(contractDefs()) as Record<string, JsonSchema>;
  const { CallFull: root, ...others } = defs;
  const ts = await compile({ ...root, $defs: others }, 'CallFull', {
    bannerComment: '',
    additionalProperties: false,
    unreachableDefinitions: true,
    style: { singleQuote: true, printWidth: 120 },
  });
  // The generator's "referenced by ... via the definition" notes say nothing to a hook author.
  const cleaned = ts.replace(/\n \*\n \* This interface was referenced by `[^`]+`'s JSON-Schema\n \* via the `definition` "[^"]+"\./g, '');
  return `${BANNER}${cleaned}`;
}

function typeText(s: JsonSchema): string {
  if (typeof s.$ref === 'string') return `[${refName(s.$ref)}](#${refName(s.$ref).toLowerCase()})`;
  if (Array.isArray(s.anyOf)) return s.anyOf.filter(isObject).map(typeText).join(' or ');
  if (Array.isArray(s.enum)) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(', ');
  if (s.type === 'array' && isObject(s.items)) return `array of ${typeText(s.items)}`;
  if (s.type === 'object' && isObject(s.additionalProperties)) return `object: uniqueid → ${typeText(s.additionalProperties)}`;
  if (s.type === 'object') return 'object (any keys)';
  return String(s.type);
}

function cell(text: unknown): string {
  return String(text ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderCallFullDoc(): string {
  const defs = contractDefs();
  const sections = CONTRACT_DEFS.map((name) => {
    const def = defs[name];
    const head = `## ${name}\n\n${String(def.description ?? '')}\n`;
    if (!isObject(def.properties)) {
      const pattern = typeof def.pattern === 'string' ? `\nPattern: \`${def.pattern}\`\n` : '';
      return `${head}\nType: ${typeText(def)}${pattern}`;
    }
    const rows = Object.entries(def.properties)
      .filter((e): e is [string, JsonSchema] => isObject(e[1]))
      .map(([key, s]) => `| \`${key}\` | ${cell(typeText(s))} | ${cell(s.description ?? (typeof s.$ref === 'string' ? defs[refName(s.$ref) as keyof typeof defs]?.description : ''))} |`);
    return `${head}\n| field | type | meaning |\n|---|---|---|\n${rows.join('\n')}\n`;
  });
  const schema = callFullSchema();
  return `<!-- GENERATED from types/call_full.schema.json by \`npm run types\`. DO NOT EDIT BY HAND. -->
# call_full

${String(schema.description ?? '')}

The schema is \`types/call_full.schema.json\`; hook authors get the same shapes as TypeScript types
(\`import type { CallFull, CallNumber } from 'callhook'\`, generated into \`types/call_full.d.ts\`).
Every field is always present; the ones that may be null say so. Unknown fields are errors, except inside
\`extra\` (a channel's parsed CEL extra) and \`raw\` (what the CRM returned).

Validate a document with \`validateCallFull(doc)\` (or \`validateAgainst('Channel', doc)\` for a sub-object) from
\`core/contract/validate.ts\`: each error names the JSON pointer, what was expected and what was found.
How numbers are built is in [numbers.md](numbers.md); how calls are assembled from CEL is in [cel.md](cel.md).

${sections.join('\n')}`;
}
