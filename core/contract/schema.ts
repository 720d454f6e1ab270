// The call_full JSON Schema (types/call_full.schema.json) loaded once. It is the single owner of the
// contract: the generated TypeScript types, docs/call_full.md, validation and the hook catalogue's
// `$ref`s all read this file.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { JsonSchema } from '../json-schema.js';

export type { JsonSchema };

export const CALL_FULL_SCHEMA_PATH = fileURLToPath(new URL('../../types/call_full.schema.json', import.meta.url));

/** The sub-objects of call_full that have a name in the schema's `$defs`. */
export const CONTRACT_DEFS = [
  'CallFull', 'Channel', 'ChannelState', 'CallType', 'DateTime', 'CallNumber', 'Conversation', 'User', 'Entity', 'Deal',
  'Registration', 'CallStage',
] as const;
export type ContractDef = (typeof CONTRACT_DEFS)[number];

/** The "did not happen" date-time. */
export const NO_TIME = '0001-01-01 00:00:00';

let cached: JsonSchema | null = null;

export function callFullSchema(): JsonSchema {
  cached ??= JSON.parse(readFileSync(CALL_FULL_SCHEMA_PATH, 'utf8')) as JsonSchema;
  return cached;
}

export function contractDefs(): Record<ContractDef, JsonSchema> {
  return callFullSchema().$defs as Record<ContractDef, JsonSchema>;
}
