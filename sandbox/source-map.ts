// Maps guest stack frames (positions in the esbuild bundle) back to the customer's TypeScript.
// Only frames of the hook's own script are kept; runtime and host frames are dropped, so a customer never
// sees a host path or the sandbox's internals.
import { createRequire } from 'node:module';
import path from 'node:path';
import type { SourceMapConsumer } from 'source-map-js';
import type { CompiledHook } from './compile.js';
import { displayNameFor } from './display-name.js';
import { escapeControl } from './text-guard.js';

// Required on the first error to map: loading it costs the sandbox process's start ~70 ms, and most
// processes never map a frame.
let consumerClass: typeof SourceMapConsumer | null = null;
function sourceMapConsumer(): typeof SourceMapConsumer {
  consumerClass ??= (createRequire(import.meta.url)('source-map-js') as typeof import('source-map-js')).SourceMapConsumer;
  return consumerClass;
}

export interface MappedPosition {
  file: string;
  line: number;
  column: number;
}

/** The script name the bundle is compiled under inside the isolate (appears in guest stack frames). */
export function bundleFilename(compiled: CompiledHook): string {
  return `hook:///${compiled.source.displayName.replace(/[()\s]/g, '_')}.js`;
}

const FRAME = /^\s*at (?:(.*?) \()?(.*?):(\d+):(\d+)\)?\s*$/;

export class StackMapper {
  #consumer: SourceMapConsumer | null = null;
  readonly #compiled: CompiledHook;
  readonly #filename: string;

  constructor(compiled: CompiledHook) {
    this.#compiled = compiled;
    this.#filename = bundleFilename(compiled);
  }

  /** Built on first use only: most hooks never fail, and parsing a map costs more than the whole call. */
  #map(): SourceMapConsumer {
    const Consumer = sourceMapConsumer();
    this.#consumer ??= new Consumer(JSON.parse(this.#compiled.sourceMap) as ConstructorParameters<typeof SourceMapConsumer>[0]);
    return this.#consumer;
  }

  /** Bundle position (1-based line, 1-based column) → customer source position, or null (runtime code). */
  position(line: number, column: number): MappedPosition | null {
    const orig = this.#map().originalPositionFor({ line, column: column - 1 });
    if (orig.source === null || orig.line === null || orig.source.startsWith('callhook-virtual:')) return null;
    const rel = path.posix.normalize(orig.source.split(path.sep).join('/'));
    return { file: displayNameFor(this.#compiled.source, rel), line: orig.line, column: (orig.column ?? 0) + 1 };
  }

  /** Customer frames of a guest stack, mapped, as "    at fn (file.ts:3:7)" lines, plus the first position. */
  frames(stack: string): { frames: string[]; first: MappedPosition | null } {
    const frames: string[] = [];
    let first: MappedPosition | null = null;
    for (const line of stack.split('\n')) {
      if (line.includes('<isolated-vm boundary>')) break;
      const m = FRAME.exec(line);
      if (!m || m[2] !== this.#filename) continue;
      const pos = this.position(Number(m[3]), Number(m[4]));
      if (!pos) continue;
      first ??= pos;
      // esbuild names anonymous default exports '<file>_default': not a name the customer wrote.
      // A function's name is the hook's to choose (defineProperty on `name`): escaped like everything it wrote.
      const fn = m[1] && !m[1].startsWith('Object.') && !/_default$/.test(m[1]) ? `${escapeControl(m[1]).slice(0, 200)} ` : '';
      frames.push(fn ? `    at ${fn}(${pos.file}:${pos.line}:${pos.column})` : `    at ${pos.file}:${pos.line}:${pos.column}`);
      if (frames.length >= 20) break;
    }
    return { frames, first };
  }
}
