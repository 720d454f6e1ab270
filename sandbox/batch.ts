// Several hook calls started together (the hook host's runPoints): in process isolation they reach the
// sandbox process in one write and come back without a round trip each. Items start in order; an item
// with `unlessFalse` runs only if none of those earlier items answered `false` (an `all` point's "no"),
// otherwise its answer is null and the hook is not called.
import type { InvokeContext, InvokeOutcome, JsonValue, LoadedHook } from './types.js';

export interface BatchItem {
  hook: LoadedHook;
  input: JsonValue;
  ctx: InvokeContext;
  /** Indexes of earlier items of the batch. */
  unlessFalse?: readonly number[];
}

export function answeredFalse(outcome: { ok: boolean; value?: unknown } | null): boolean {
  return outcome !== null && outcome.ok && outcome.value === false;
}

/** The gating rule without a shared process: each item is one invoke; a gated item first waits for its gates. */
export function startInOrder<I extends { unlessFalse?: readonly number[] }, O extends { ok: boolean; value?: unknown }>(
  items: readonly I[], invoke: (item: I) => Promise<O>,
): Array<Promise<O | null>> {
  const answers: Array<Promise<O | null>> = [];
  for (const item of items) {
    const gates = (item.unlessFalse ?? []).flatMap((i) => (i >= 0 && i < answers.length ? [answers[i] as Promise<O | null>] : []));
    answers.push(gates.length === 0 ? invoke(item)
      : Promise.all(gates).then((done) => (done.some(answeredFalse) ? null : invoke(item))));
  }
  return answers;
}

export function invokeInOrder(items: readonly BatchItem[]): Array<Promise<InvokeOutcome | null>> {
  return startInOrder(items, (item) => item.hook.invoke(item.input, item.ctx));
}
