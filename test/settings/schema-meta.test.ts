// The schemas callhook compiles without meta-validation at start-up (core/settings/load.ts,
// hooks/validation.ts, hooks/packs.ts: ~130 ms a start) are checked against their meta-schema here, so a
// broken schema still fails CI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { composeSettingsSchema, readSectionSchemas } from '../../core/settings/schema.js';
import { callFullSchema } from '../../core/contract/schema.js';
import { HOOK_POINTS } from '../../hooks/catalogue.js';
import { packManifestSchema } from '../../hooks/packs.js';

test('the settings schema, the call_full schema, every hook point\'s input and output schema and the pack manifest schema are valid draft-07', () => {
  const ajv = new Ajv({ strict: false, allowUnionTypes: true });
  const { $schema: _drop, ...callFull } = callFullSchema();
  const schemas: Array<[string, object]> = [
    ['settings', composeSettingsSchema(readSectionSchemas())],
    ['call_full', callFull],
    ['pack manifest', packManifestSchema],
    ...HOOK_POINTS.flatMap((p): Array<[string, object]> => [[`${p.name} input`, p.input], [`${p.name} output`, p.output]]),
  ];
  for (const [name, schema] of schemas) {
    assert.equal(ajv.validateSchema(schema), true, `${name}: ${ajv.errorsText(ajv.errors)}`);
  }
});
