// Type-checks customer hook files against the generated call_full/hook types with one warm TypeScript
// LanguageService (an incremental re-check of one edited file costs ~25 ms instead of ~200 ms cold).
//
// What is checked is the hook's whole program as far as it belongs to the hook: the entry file and every
// helper it imports from its own folder or pack (a helper that does not type-check makes the hook fail,
// exactly as `tsc` on the scaffolded tsconfig would). The default export is checked against the hook
// point's contract through a virtual companion file, so `export default function (input) {...}` is typed.
//
// The checker sees only what the sandbox would let the hook import: 'callhook' (the published types) and
// relative files inside the hook's own root. Anything else is HOOK_IMPORT_REFUSED, never resolved and
// never read, so neither an `import type` of a file elsewhere nor a triple-slash reference can make the
// checker print another file's content, or tell whether a file outside the root exists.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TS from 'typescript';
import { cacheDir, pruneOnce } from '../bin/cache-dir.js';

// typescript is CommonJS; `require` loads it directly (an ESM import of it through a loader hook costs
// over a second more at start-up for the 9 MB module). Loaded on first use: a command that ends before
// any check (bad usage, a settings error) does not pay ~0.4 s for it.
let tsModule: typeof TS | null = null;
function typescript(): typeof TS {
  tsModule ??= createRequire(import.meta.url)('typescript') as typeof TS;
  return tsModule;
}

/** The fault a diagnostic stands for, as the hook's error code: one code per fault in check, try and run. */
export type CheckCode = 'HOOK_COMPILE' | 'HOOK_IMPORT_REFUSED' | 'HOOK_TYPECHECK';

export interface TypeDiagnostic {
  /** The file as shown to the author (display name, or a path relative to the working directory). */
  file: string;
  line: number;
  column: number;
  /** The TypeScript diagnostic number (0 when the finding is callhook's own). */
  code: number;
  hookCode: CheckCode;
  message: string;
}

/** `file:line:col: CODE TSnnnn: message`, the format editors and CI understand. */
export function formatDiagnostic(d: TypeDiagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.hookCode} ${diagnosticText(d)}`;
}

/** The diagnostic without its position (for a report that prints the position itself). */
export function diagnosticText(d: TypeDiagnostic): string {
  return `${d.code > 0 ? `TS${d.code}: ` : ''}${d.message}`;
}

const CODE_RANK: Record<CheckCode, number> = { HOOK_COMPILE: 0, HOOK_IMPORT_REFUSED: 1, HOOK_TYPECHECK: 2 };

/** The code a hook with these diagnostics fails with: a syntax error before a refused import before a type error. */
export function failureCode(diags: readonly TypeDiagnostic[]): CheckCode {
  return diags.reduce<CheckCode>((worst, d) => (CODE_RANK[d.hookCode] < CODE_RANK[worst] ? d.hookCode : worst), 'HOOK_TYPECHECK');
}

export const TYPES_INDEX = fileURLToPath(new URL('../types/index.d.ts', import.meta.url));

export function compilerOptionsFor(typesIndex: string): TS.CompilerOptions {
  const ts = typescript();
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
    // The sandbox bundles .json helpers of the folder; their types come from their content.
    resolveJsonModule: true,
    paths: { callhook: [typesIndex] },
  };
}

const COMPANION_SUFFIX = '.__callhook_contract__.ts';

/** What a hook may import, said the same way by the checker and the sandbox's bundler. */
export const IMPORT_RULE = "only 'callhook' and relative files inside the hook's folder or pack can be imported (the sandbox has no Node or npm modules)";

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

function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export interface CheckTarget {
  /** The hook's folder or pack: the only place its relative imports may reach. */
  root: string;
  /** How a file of the hook is named in the diagnostics (entry and helpers). */
  display(absFile: string): string;
}

interface ImportSite {
  spec: string;
  start: number;
  kind: 'import' | 'reference';
}

/** Every module specifier and triple-slash reference of a file, with the position of the specifier. */
function importSites(sf: TS.SourceFile): ImportSite[] {
  const ts = typescript();
  const out: ImportSite[] = [];
  for (const ref of [...sf.referencedFiles, ...sf.typeReferenceDirectives, ...sf.libReferenceDirectives]) {
    out.push({ spec: ref.fileName, start: ref.pos, kind: 'reference' });
  }
  const literal = (node: TS.Node | undefined): void => {
    if (node && ts.isStringLiteralLike(node)) out.push({ spec: node.text, start: node.getStart(sf), kind: 'import' });
  };
  const visit = (node: TS.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) literal(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) literal(node.moduleReference.expression);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) literal(node.argument.literal);
    else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
      literal(node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}


function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Checks that passed, remembered across processes: a hook whose entry, helpers, point, published types,
 * TypeScript version and options are byte for byte what passed before passes again without starting
 * TypeScript (about a second at start-up, most of `callhook try`'s and the demo's start). Only passes are
 * kept, with the content hash of every file of the hook's program inside its root, so any edit (or a
 * helper that appeared or vanished: an import that did not resolve is an error, never cached) checks again.
 */
class CheckCache {
  private readonly salt: string;
  /** The user's cache folder (bin/cache-dir.js); null: none that is safe, every check runs. */
  private readonly dir = cacheDir('typecheck');

  constructor(typesDir: string) {
    let tsVersion = 'unknown';
    try {
      const req = createRequire(import.meta.url);
      tsVersion = (JSON.parse(readFileSync(req.resolve('typescript/package.json'), 'utf8')) as { version: string }).version;
    } catch {
      // no version: the key still changes with everything else
    }
    const types = readdirSync(typesDir).filter((f) => f.endsWith('.d.ts')).sort().map((f) => `${f}\0${readFileSync(path.join(typesDir, f), 'utf8')}`);
    this.salt = sha256(['callhook-typecheck-v1', tsVersion, JSON.stringify(OPTIONS_KEY), ...types].join('\0'));
  }

  private fileFor(entry: string, point: string, root: string): string {
    return path.join(this.dir ?? '', `${sha256(`${this.salt}\0${entry}\0${point}\0${root}`).slice(0, 32)}.json`);
  }

  /** True when this exact program passed before. */
  passed(entry: string, text: string, point: string, root: string, readText: (file: string) => string | null): boolean {
    if (this.dir === null) return false;
    let record: { files: Array<[string, string]> };
    try {
      record = JSON.parse(readFileSync(this.fileFor(entry, point, root), 'utf8')) as { files: Array<[string, string]> };
    } catch {
      return false;
    }
    if (!Array.isArray(record.files) || record.files.length === 0) return false;
    return record.files.every(([file, hash]) => sha256((file === entry ? text : readText(file)) ?? '\0missing') === hash);
  }

  remember(entry: string, point: string, root: string, files: ReadonlyArray<[string, string]>): void {
    if (this.dir === null) return;
    try {
      pruneOnce(this.dir);
      const target = this.fileFor(entry, point, root);
      const tmp = `${target}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ files: files.map(([f, text]) => [f, sha256(text)]) }));
      renameSync(tmp, target);
    } catch {
      // a read-only installation checks every time
    }
  }
}

/** What of the compiler options goes into the cache key (compilerOptionsFor, as plain data). */
const OPTIONS_KEY = { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['es2022'], strict: true, noImplicitAny: false, resolveJsonModule: true, allowImportingTsExtensions: true };

interface LiveService {
  service: TS.LanguageService;
  options: TS.CompilerOptions;
  libDir: string;
}

export class HookTypeChecker {
  private readonly files = new Map<string, Entry>();
  /** TypeScript itself, started on the first check the cache cannot answer. */
  private live: LiveService | null = null;
  private readonly cache: CheckCache;
  private readonly typesDir: string;
  /** Every hook root seen (folder, packs): the checker reads files inside these, the types and the libs only. */
  private readonly roots = new Set<string>();
  /** A restricted module-resolution host per root: probing never leaves the root. */
  private readonly resolutionHosts = new Map<string, TS.ModuleResolutionHost>();

  constructor(private readonly typesIndex: string = TYPES_INDEX) {
    this.typesDir = path.dirname(path.resolve(typesIndex));
    this.cache = new CheckCache(this.typesDir);
  }

  private start(): LiveService {
    if (this.live) return this.live;
    const ts = typescript();
    const options = compilerOptionsFor(this.typesIndex);
    const host: TS.LanguageServiceHost = {
      getCompilationSettings: () => options,
      getScriptFileNames: () => [...this.files.keys()],
      // Files the host did not hand in (helpers, type declarations) are versioned by mtime so an edited
      // helper is re-read instead of served from the service's cache.
      getScriptVersion: (f) => {
        const entry = this.files.get(f);
        if (entry) return String(entry.version);
        if (!this.readable(f)) return 'refused';
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
        if (!this.readable(f) || !existsSync(f)) return undefined;
        return ts.ScriptSnapshot.fromString(readFileSync(f, 'utf8'));
      },
      getCurrentDirectory: () => process.cwd(),
      getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
      fileExists: (f) => this.files.has(f) || (this.readable(f) && ts.sys.fileExists(f)),
      readFile: (f) => this.files.get(f)?.text ?? (this.readable(f) ? ts.sys.readFile(f) : undefined),
      directoryExists: (d) => this.readable(d) && ts.sys.directoryExists(d),
      getDirectories: (d) => (this.readable(d) ? ts.sys.getDirectories(d) : []),
      resolveModuleNameLiterals: (literals, containingFile) => literals.map((lit) => this.resolve(lit.text, containingFile)),
      resolveTypeReferenceDirectiveReferences: (refs) => refs.map(() => ({ resolvedTypeReferenceDirective: undefined })),
    };
    this.live = { service: ts.createLanguageService(host, ts.createDocumentRegistry()), options, libDir: path.dirname(ts.getDefaultLibFilePath(options)) };
    return this.live;
  }

  /** The root a file belongs to: the innermost hook root, the types folder or the TypeScript libs. */
  private rootOf(file: string): string | null {
    const abs = path.resolve(file);
    if (isInside(this.typesDir, abs)) return this.typesDir;
    if (this.live && isInside(this.live.libDir, abs)) return this.live.libDir;
    let best: string | null = null;
    for (const r of this.roots) if (isInside(r, abs) && (best === null || r.length > best.length)) best = r;
    return best;
  }

  private readable(file: string): boolean {
    return this.rootOf(file) !== null;
  }

  private resolutionHost(root: string): TS.ModuleResolutionHost {
    const ts = typescript();
    let host = this.resolutionHosts.get(root);
    if (!host) {
      host = {
        fileExists: (f) => isInside(root, path.resolve(f)) && (this.files.has(f) || ts.sys.fileExists(f)),
        readFile: (f) => (isInside(root, path.resolve(f)) ? (this.files.get(f)?.text ?? ts.sys.readFile(f)) : undefined),
        directoryExists: (d) => isInside(root, path.resolve(d)) && ts.sys.directoryExists(d),
      };
      this.resolutionHosts.set(root, host);
    }
    return host;
  }

  /** 'callhook' → the published types; a relative import inside the importer's own root; nothing else. */
  private resolve(spec: string, containingFile: string): TS.ResolvedModuleWithFailedLookupLocations {
    const ts = typescript();
    const none: TS.ResolvedModuleWithFailedLookupLocations = { resolvedModule: undefined };
    if (spec === 'callhook') {
      return { resolvedModule: { resolvedFileName: path.resolve(this.typesIndex), extension: ts.Extension.Dts, isExternalLibraryImport: false } };
    }
    if (!spec.startsWith('./') && !spec.startsWith('../')) return none;
    const root = this.rootOf(containingFile);
    if (root === null || !isInside(root, path.resolve(path.dirname(containingFile), spec))) return none;
    return ts.resolveModuleName(spec, containingFile, this.start().options, this.resolutionHost(root));
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
  prime(file: string, text: string, point: string | null, root: string): void {
    const abs = path.resolve(file);
    this.roots.add(path.resolve(root));
    this.set(abs, text);
    if (point !== null) this.set(abs + COMPANION_SUFFIX, companionSource(abs, point));
  }

  /**
   * Checks `text` as the content of `file` implementing `point`, with every helper it imports from its
   * root. Returns the diagnostics (1-based line/column), each naming its file through `target.display`.
   */
  check(file: string, text: string, point: string | null, target: CheckTarget): TypeDiagnostic[] {
    const abs = path.resolve(file);
    const root = path.resolve(target.root);
    this.roots.add(root);
    this.set(abs, text);
    const companion = abs + COMPANION_SUFFIX;
    if (point !== null) this.set(companion, companionSource(abs, point));
    else this.files.delete(companion);
    const readText = (f: string): string | null => this.files.get(f)?.text ?? (existsSync(f) ? readFileSync(f, 'utf8') : null);
    if (point !== null && this.cache.passed(abs, text, point, root, readText)) return [];
    const ts = typescript();
    const service = this.start().service;
    const program = service.getProgram();
    const out: TypeDiagnostic[] = [];
    if (!program) return out;
    const owned = this.ownedFiles(program, abs, root);
    for (const sf of owned) {
      const display = target.display(sf.fileName);
      const refused = this.refusedImports(sf, root);
      for (const r of refused) out.push({ ...this.position(sf, r.start), file: display, code: 0, hookCode: 'HOOK_IMPORT_REFUSED', message: r.message });
      const refusedAt = new Set(refused.map((r) => r.start));
      for (const d of service.getSyntacticDiagnostics(sf.fileName)) out.push(this.toDiagnostic(d, sf, display, 'HOOK_COMPILE'));
      for (const d of service.getSemanticDiagnostics(sf.fileName)) {
        // TypeScript's own word on a refused import ("cannot find module", "install @types/node") would
        // send the author the wrong way: the import-refused finding above says what a hook may import.
        if (d.start !== undefined && refusedAt.has(d.start)) continue;
        out.push(this.toDiagnostic(d, sf, display, 'HOOK_TYPECHECK'));
      }
    }
    if (point !== null && out.length === 0) {
      for (const d of service.getSemanticDiagnostics(companion)) {
        // The contract mismatch belongs to the hook file: point at its default export.
        const entry = program.getSourceFile(abs);
        const at = Math.max(0, text.indexOf('export default'));
        const pos = entry ? this.position(entry, at) : { line: 1, column: 1 };
        out.push({
          file: target.display(abs),
          ...pos,
          code: d.code,
          hookCode: 'HOOK_TYPECHECK',
          message: `default export does not match hook '${point}': ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
        });
      }
    }
    if (point !== null && out.length === 0) this.cache.remember(abs, point, root, owned.map((sf) => [path.resolve(sf.fileName), sf.text]));
    return out;
  }

  /** The entry and every file inside the root that it reaches through relative imports. */
  private ownedFiles(program: TS.Program, entry: string, root: string): TS.SourceFile[] {
    const out: TS.SourceFile[] = [];
    const seen = new Set<string>();
    const queue = [entry];
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const sf = program.getSourceFile(file);
      if (!sf) continue;
      out.push(sf);
      for (const site of importSites(sf)) {
        if (site.kind !== 'import' || !(site.spec.startsWith('./') || site.spec.startsWith('../'))) continue;
        const resolved = this.resolve(site.spec, sf.fileName).resolvedModule?.resolvedFileName;
        if (resolved !== undefined && isInside(root, path.resolve(resolved))) queue.push(path.resolve(resolved));
      }
    }
    return out;
  }

  /** Imports and references of one owned file that the sandbox would refuse, with the reason. */
  private refusedImports(sf: TS.SourceFile, root: string): Array<{ start: number; message: string }> {
    const out: Array<{ start: number; message: string }> = [];
    for (const site of importSites(sf)) {
      if (site.kind === 'reference') {
        // A reference pulls a file into the program without an import; the answer never depends on the target.
        out.push({ start: site.start, message: `triple-slash references are not allowed in a hook: ${IMPORT_RULE}` });
        continue;
      }
      if (site.spec === 'callhook') continue;
      const relative = site.spec.startsWith('./') || site.spec.startsWith('../');
      if (!relative) out.push({ start: site.start, message: `import of '${site.spec}' is not allowed in a hook: ${IMPORT_RULE}` });
      else if (!isInside(root, path.resolve(path.dirname(sf.fileName), site.spec))) {
        out.push({ start: site.start, message: `import of '${site.spec}' leaves the hook's folder or pack: ${IMPORT_RULE}` });
      }
    }
    return out;
  }

  private position(sf: TS.SourceFile, at: number): { line: number; column: number } {
    const { line, character } = sf.getLineAndCharacterOfPosition(Math.min(at, sf.text.length));
    return { line: line + 1, column: character + 1 };
  }

  private toDiagnostic(d: TS.Diagnostic, sf: TS.SourceFile, display: string, hookCode: CheckCode): TypeDiagnostic {
    const ts = typescript();
    const pos = d.start !== undefined ? this.position(d.file ?? sf, d.start) : { line: 1, column: 1 };
    let message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (/@types\/node/.test(message)) {
      // "Do you need to install type definitions for node?": a hook cannot use Node, whatever is installed.
      message = `${message.split('. Do you need')[0] ?? message}: a hook runs in a sandbox without Node APIs (no process, require, Buffer, timers); see docs/sandbox.md`;
    }
    return { file: display, ...pos, code: d.code, hookCode, message };
  }

  dispose(): void {
    this.live?.service.dispose();
    this.live = null;
    this.files.clear();
  }
}
