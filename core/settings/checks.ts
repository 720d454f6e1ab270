// Compile-time checks that the settings types the code uses are the generated ones (types/settings.d.ts).
// The cel, calls, hooks and sandbox areas import their section type from the generated file directly;
// the numbers area keeps its own NumberSettings, so it is compared here: a schema change that
// core/numbers does not follow fails `npm run typecheck`.
import type { NumberSettings } from '../numbers/settings.js';
import type { NumbersSettings } from '../../types/settings.js';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

export type NumbersInStep = Assert<Same<NumberSettings, NumbersSettings>>;
