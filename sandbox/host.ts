// createSandboxHost: the one entry the hook host uses. 'inline' runs isolates in this process; 'process'
// runs them in supervised child processes (a hook that crashes or wedges its process costs only that hook:
// see sandbox/supervisor.ts and docs/sandbox.md for what each isolation guarantees and what it cannot).
import type { Logger } from 'pino';
import { invokeInOrder, type BatchItem } from './batch.js';
import { compileHook, type CompiledHook, type HookSource } from './compile.js';
import { InlineHook } from './inline-hook.js';
import { ProcessSupervisor } from './supervisor.js';
import type { InvokeOutcome, LoadOptions, LoadedHook } from './types.js';
import { checkOutput } from './validate.js';

export interface SandboxHostOptions {
  isolation: 'process' | 'inline';
  logger: Logger;
}

export interface SandboxHost {
  compile(source: HookSource): Promise<CompiledHook>;
  load(compiled: CompiledHook, options: LoadOptions): Promise<LoadedHook>;
  /** Starts several calls together (sandbox/batch.ts); with process isolation, without a round trip each. */
  invokeAll(items: readonly BatchItem[]): Array<Promise<InvokeOutcome | null>>;
  close(): Promise<void>;
}

/** Loads a compiled hook into its own isolate in this process; rejects HookError HOOK_LOAD. */
export async function loadHookInline(compiled: CompiledHook, options: LoadOptions): Promise<LoadedHook> {
  const hook = new InlineHook(compiled, { ...options, checkOutput });
  hook.start();
  return hook;
}

export function createSandboxHost(options: SandboxHostOptions): SandboxHost {
  if (options.isolation === 'process') {
    const supervisor = new ProcessSupervisor(options.logger);
    return {
      compile: compileHook,
      load: (compiled, loadOptions) => supervisor.load(compiled, loadOptions),
      invokeAll: (items) => supervisor.invokeAll(items),
      close: () => supervisor.close(),
    };
  }
  const loaded = new Set<LoadedHook>();
  return {
    compile: compileHook,
    async load(compiled, loadOptions) {
      const hook = await loadHookInline(compiled, loadOptions);
      loaded.add(hook);
      const dispose = hook.dispose.bind(hook);
      // Keep the set in step when the caller disposes a hook itself.
      return Object.assign(hook, { dispose: async () => { loaded.delete(hook); await dispose(); } });
    },
    invokeAll: (items) => invokeInOrder(items),
    async close() {
      await Promise.all([...loaded].map((hook) => hook.dispose()));
      loaded.clear();
    },
  };
}
