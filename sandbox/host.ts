// createSandboxHost: the one entry the hook host uses. 'inline' runs isolates in this process; 'process'
// runs them in a supervised child process (an OOM or V8 catastrophic error there cannot take the connector
// down; the supervisor restarts the child and reloads its hooks).
import type { Logger } from 'pino';
import { compileHook, type CompiledHook, type HookSource } from './compile.js';
import { loadHookInline } from './inline-hook.js';
import { ProcessSupervisor } from './supervisor.js';
import type { LoadOptions, LoadedHook } from './types.js';

export interface SandboxHostOptions {
  isolation: 'process' | 'inline';
  logger: Logger;
}

export interface SandboxHost {
  compile(source: HookSource): Promise<CompiledHook>;
  load(compiled: CompiledHook, options: LoadOptions): Promise<LoadedHook>;
  close(): Promise<void>;
}

export function createSandboxHost(options: SandboxHostOptions): SandboxHost {
  if (options.isolation === 'process') {
    const supervisor = new ProcessSupervisor(options.logger);
    return {
      compile: compileHook,
      load: (compiled, loadOptions) => supervisor.load(compiled, loadOptions),
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
    async close() {
      await Promise.all([...loaded].map((hook) => hook.dispose()));
      loaded.clear();
    },
  };
}
