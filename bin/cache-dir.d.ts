/** The cache folder for `name` (created), or null when there is no safe one (bin/cache-dir.js). */
export declare function cacheDir(name: string): string | null;
/** Keeps a cache folder from growing without end (bin/cache-dir.js); call before writing to it. */
export declare function pruneOnce(dir: string): void;
