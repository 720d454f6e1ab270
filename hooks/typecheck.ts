// Type-checks customer hook files against the generated call_full/hook types with one warm TypeScript
// LanguageService (an incremental re-check of one edited file costs ~25 ms instead of ~200 ms cold).
// Besides the file's own diagnostics it checks the default export against the hook point's contract
// through a virtual companion file, so `export default function (input) {...}` is typed too.
import { readFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export interface TypeDiagnostic {
  file: string;
  line: number;
  column: number;
  code: number;
  message: string;
}

/** `file:line:col: message`, the format editors and CI understand. */
export function formatDiagnostic(d: TypeDiagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.code > 0 ? `TS${d.code}: ` : ''}${d.message}`;
}

export const TYPES_INDEX = fileURLToPath(new URL('../types/index.d.ts', import.meta.url));

export function compilerOptionsFor(typesIndex: string): ts.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts'],
    types: [],
    strict: true,
    // `export default function (input) {...}` (the documented plain style) has no contextual type; an
    // implicit any there must not keep a customer's hook from loading. defineHook hooks are fully typed.
    noImplicitAny: false,
    noEmit: true,
    skipLibCheck: true,
    isolatedModules: true,
    allowImportingTsExtensions: true,
    paths: { callhook: [typesIndex] },
  };
}

const COMPANION_SUFFIX = '.__callhook_contract__.ts';

interface Entry {
  version: number;
  text: string;
}

/** Finds `defineHook('point'` in the source (the declared point), without running the file. */
export function declaredPointInSource(text: string): string | null {
  const m = /defineHook\s*(?:<[^>]*>)?\(\s*['"]([A-Za-z0-9_]+)['"]/.exec(text);
  return m ? (m[1] ?? null) : null;
}

/** The virtual file that checks a hook's default export against its point's contract. */
function companionSource(abs: string, point: string): string {
  const base = './' + path.basename(abs);
  return `import __hook from ${JSON.stringify(base)};\nimport type { HookModule } from 'callhook';\nconst __contract: HookModule<${JSON.stringify(point)}> = __hook;\nvoid __contract;\n`;
}

export class HookTypeChecker {
  private readonly files = new Map<string, Entry>();
  private readonly service: ts.LanguageService;
  private readonly options: ts.CompilerOptions;

  constructor(typesIndex: string = TYPES_INDEX) {
    this.options = compilerOptionsFor(typesIndex);
    const host: ts.LanguageServiceHost = {
      getCompilationSettings: () => this.options,
      getScriptFileNames: () => [...this.files.keys()],
      // Files the host did not hand in (helpers, type declarations) are versioned by mtime so an edited
      // helper is re-read instead of served from the service's cache.
      getScriptVersion: (f) => {
        const entry = this.files.get(f);
        if (entry) return String(entry.version);
        try {
          const st = statSync(f);
          return `disk:${st.mtimeMs}:${st.size}`;
        } catch {
          return 'missing';
        }
      },
      getScriptSnapshot: (f) => {
        const entry = this.files.get(f);
        if (entry) return ts.ScriptSnapshot.fromString(entry.text);
        if (!existsSync(f)) return undefined;
        return ts.ScriptSnapshot.fromString(readFileSync(f, 'utf8'));
      },
      getCurrentDirectory: () => process.cwd(),
      getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
      fileExists: (f) => this.files.has(f) || ts.sys.fileExists(f),
      readFile: (f) => this.files.get(f)?.text ?? ts.sys.readFile(f),
      readDirectory: ts.sys.readDirectory,
      directoryExists: ts.sys.directoryExists,
      getDirectories: ts.sys.getDirectories,
    };
    this.service = ts.createLanguageService(host, ts.createDocumentRegistry());
  }

  private set(file: string, text: string): void {
    const prev = this.files.get(file);
    if (prev && prev.text === text) return;
    this.files.set(file, { version: (prev?.version ?? 0) + 1, text });
  }

  /** Forgets a file (deleted from the folder), so it no longer costs anything. */
  forget(file: string): void {
    this.files.delete(path.resolve(file));
    this.files.delete(path.resolve(file) + COMPANION_SUFFIX);
  }

  /**
   * Registers files without checking them. Loading a folder primes every file first so the service
   * builds one program for all of them, instead of rebuilding it once per added file (quadratic).
   */
  prime(file: string, text: string, point: string | null): void {
    const abs = path.resolve(file);
    this.set(abs, text);
    if (point !== null) this.set(abs + COMPANION_SUFFIX, companionSource(abs, point));
  }

  /**
   * Checks `text` as the content of `file` implementing `point`. Returns the diagnostics, each with
   * `displayFile` as the file name and 1-based line/column.
   */
  check(file: string, text: string, point: string | null, displayFile: string): TypeDiagnostic[] {
    const abs = path.resolve(file);
    this.set(abs, text);
    const companion = abs + COMPANION_SUFFIX;
    if (point !== null) {
      this.set(companion, companionSource(abs, point));
    } else {
      this.files.delete(companion);
    }
    const out: TypeDiagnostic[] = [];
    const own = [...this.service.getSyntacticDiagnostics(abs), ...this.service.getSemanticDiagnostics(abs)];
    for (const d of own) out.push(this.toDiagnostic(d, displayFile, text));
    if (point !== null && own.length === 0) {
      for (const d of this.service.getSemanticDiagnostics(companion)) {
        // The contract mismatch belongs to the hook file: point at its default export.
        const at = Math.max(0, text.indexOf('export default'));
        const { line, character } = ts.getLineAndCharacterOfPosition(ts.createSourceFile(abs, text, ts.ScriptTarget.ES2022), at);
        out.push({
          file: displayFile,
          line: line + 1,
          column: character + 1,
          code: d.code,
          message: `default export does not match hook '${point}': ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
        });
      }
    }
    return out;
  }

  private toDiagnostic(d: ts.Diagnostic, displayFile: string, text: string): TypeDiagnostic {
    let line = 1;
    let column = 1;
    if (d.file && d.start !== undefined) {
      const pos = d.file.getLineAndCharacterOfPosition(d.start);
      line = pos.line + 1;
      column = pos.character + 1;
    } else if (d.start !== undefined) {
      const pos = ts.getLineAndCharacterOfPosition(ts.createSourceFile('x.ts', text, ts.ScriptTarget.ES2022), d.start);
      line = pos.line + 1;
      column = pos.character + 1;
    }
    const file = d.file && path.resolve(d.file.fileName) !== path.resolve(displayFile) && !d.file.fileName.endsWith(path.basename(displayFile)) ? d.file.fileName : displayFile;
    return { file, line, column, code: d.code, message: ts.flattenDiagnosticMessageText(d.messageText, '\n') };
  }

  dispose(): void {
    this.service.dispose();
    this.files.clear();
  }
}
