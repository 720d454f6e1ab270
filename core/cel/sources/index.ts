// Public entry of the CEL sources. Everything a pipeline, the CLI or a test needs is re-exported here.
export type {
  CelSource, CelSourceStats, CelSourceEvent, CelSourceEventCode, CelSourceEventHandler, CelBatchOptions,
} from './source.js';
export { CelParseError, emptyStats, logCelSourceEvents } from './source.js';
export { parseCelJsonLine } from './jsonl.js';
export { CsvParser, parseCsv, type CsvRecord } from './csv.js';
export { readCelFile, createReplaySource, type ReadCelFileOptions, type ReplaySourceOptions, type CelFileFormat } from './file.js';
export { createMariaDbSource, type MariaDbSource, type MariaDbSourceOptions, type MariaDbConnectionOptions } from './mariadb.js';
export {
  createMariaDbStateStore, createMemoryStateStore, CelStateError,
  type StateStore, type CelState, type MariaDbStateStoreOptions,
} from './state-store.js';
export { createCelSource, createCelStateStore, DEFAULT_CEL_SETTINGS, type CelSettings } from './from-settings.js';
