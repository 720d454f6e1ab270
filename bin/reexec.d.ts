/** node's arguments to run a TypeScript entry of this repository as fast as it can be started now (bin/reexec.js). */
export declare function nodeArgsFor(entry: string): string[];
/** Re-executes node on a TypeScript entry with the flags isolated-vm needs, forwarding signals (bin/reexec.js). */
export declare function reexec(entry: string, args: string[], options?: { bundled?: boolean }): Promise<void>;
