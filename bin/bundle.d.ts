/** A bundle of `entry` whose every input is unchanged, or null (bin/bundle.js). */
export declare function validBundle(entry: string): string | null;
/** Bundles `entry` into the cache folder; its path, or null when that cannot be done (bin/bundle.js). */
export declare function buildBundle(entry: string): Promise<string | null>;
