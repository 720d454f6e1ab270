import type { Logger } from 'pino';
import type { CompiledHook } from './compile.js';
import type { LoadOptions, LoadedHook } from './types.js';
export class ProcessSupervisor {
  constructor(readonly logger: Logger) {}
  async load(_c: CompiledHook, _o: LoadOptions): Promise<LoadedHook> { throw new Error('not yet'); }
  async close(): Promise<void> {}
}
