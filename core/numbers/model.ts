// The number model: raw text from Asterisk -> call_full Number. build() and isInternal() never throw.
import path from 'node:path';
import type { Logger } from 'pino';
import { createLogger } from '../log.js';
import { cleanNumber, isExtension, toText } from './clean.js';
import { FmcPatternsFile } from './fmc-patterns.js';
import { compileNumberSettings, type CompiledNumberSettings, type NumberSettings } from './settings.js';

import type { CallNumber } from '../../types/call_full.js';

/** A call_full Number (`from`, `to`, `trunk`): the contract's generated type. */
export type { CallNumber };

export interface NumberModel {
  /** The Number for a raw value; never throws (see docs/numbers.md for bad input). */
  build(raw: string): CallNumber;
  /** An employee's number: an extension or an FMC number. Never throws. */
  isInternal(raw: string): boolean;
  /** The first matching auto-replacement rule's result for the cleaned number; '' when no rule applies. */
  autoReplace(raw: string): string;
  /** Stops re-checking the FMC patterns file (the patterns loaded so far stay in use). */
  close(): void;
}

export interface NumberModelOptions {
  /** Where warnings go (FMC file missing, bad pattern lines). Default: the connector's stderr logger. */
  logger?: Logger;
  /** A relative fmc_patterns_file resolves against this folder. Default: the working directory. */
  baseDir?: string;
}

/** Unexpected internal errors are logged for the first few, then every this-many-th. */
const ERROR_LOG_EVERY = 1000;

function noNumber(original: string): CallNumber {
  return { base: '', custom: '', is_local: false, original, variants: [] };
}

/**
 * Builds the number model from the `numbers` settings section. Throws NumberSettingsError (naming the
 * key) for settings that cannot work; after that nothing it returns throws.
 */
export function createNumberModel(settings: NumberSettings, options: NumberModelOptions = {}): NumberModel {
  const s: CompiledNumberSettings = compileNumberSettings(settings);
  const logger = options.logger ?? createLogger();
  const fmcFile = s.fmcPatternsFile === ''
    ? undefined
    : new FmcPatternsFile(path.resolve(options.baseDir ?? process.cwd(), s.fmcPatternsFile), logger);

  let errors = 0;
  function internalError(where: string, raw: unknown, error: unknown): void {
    errors++;
    if (errors <= 10 || errors % ERROR_LOG_EVERY === 0) {
      logger.error({ err: error, raw: toText(raw).slice(0, 100), errors }, `numbers.${where}: unexpected error, treated as no number`);
    }
  }

  function isFmc(cleaned: string): boolean {
    return s.fmcNumbers.has(cleaned) || (fmcFile !== undefined && fmcFile.matches(cleaned));
  }

  function internal(cleaned: string): boolean {
    return isExtension(cleaned, s.internalMaxLength) || isFmc(cleaned);
  }

  function replace(cleaned: string): string {
    for (const rule of s.rules) {
      if (rule.pattern.test(cleaned)) return cleaned.replace(rule.pattern, rule.replacement);
    }
    return '';
  }

  function stripPrefix(cleaned: string): string {
    for (const prefix of s.prefixesByLength) {
      if (cleaned.length > prefix.length && cleaned.startsWith(prefix)) return cleaned.slice(prefix.length);
    }
    return cleaned;
  }

  return {
    build(raw: string): CallNumber {
      const original = toText(raw);
      try {
        const cleaned = cleanNumber(original);
        if (cleaned === null) return noNumber(original);
        const custom = replace(cleaned);
        if (isExtension(cleaned, s.internalMaxLength)) {
          return { base: cleaned, custom, is_local: true, original, variants: [cleaned] };
        }
        const base = stripPrefix(cleaned);
        // An international number no prefix matched keeps its "+": prefix+"+44…" is no number, so no variants.
        const variants = base.startsWith('+') ? [base] : [base, ...s.prefixes.map((p) => p + base)];
        return { base, custom, is_local: isFmc(cleaned), original, variants };
      } catch (error) {
        internalError('build', raw, error);
        return noNumber(original);
      }
    },

    isInternal(raw: string): boolean {
      try {
        const cleaned = cleanNumber(toText(raw));
        return cleaned !== null && internal(cleaned);
      } catch (error) {
        internalError('isInternal', raw, error);
        return false;
      }
    },

    autoReplace(raw: string): string {
      try {
        const cleaned = cleanNumber(toText(raw));
        return cleaned === null ? '' : replace(cleaned);
      } catch (error) {
        internalError('autoReplace', raw, error);
        return '';
      }
    },

    close(): void {
      fmcFile?.close();
    },
  };
}
