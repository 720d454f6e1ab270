// Public entry of the CEL sources. Everything a pipeline, the CLI or a test needs is re-exported here.
export type {
  CelSource, CelSourceStats, CelSourceEvent, CelSourceEventCode, CelSourceEventHandler, CelBatchOptions,
  RowKey, WatchedGap, SourceResume, SourcePosition, RereadRequest,
} from './source.js';
export { CelParseError, CelFileError, emptyStats, logCelSourceEvents, rowKey, inGaps, printable, escapeControls } from './source.js';
export { parseCelJsonLine } from './jsonl.js';
export { CsvParser, parseCsv, type CsvRecord } from './csv.js';
export { readCelFile, readCelEntries, type ReadCelFileOptions, type CelFileFormat, type CelFileEntry, type CelFileNote } from './file.js';
export { createReplaySource, REORDER_WINDOW, type ReplaySourceOptions } from './replay.js';
export { sniffFile, type FileProblem } from './file-sniff.js';
export { createMariaDbSource, type MariaDbSource, type MariaDbSourceOptions, type MariaDbConnectionOptions } from './mariadb.js';
export {
  createMariaDbStateStore, createMemoryStateStore, CelStateError, RESUME_FINISHED, MAX_WATCHED_GAPS,
  type StateStore, type CelState, type MariaDbStateStoreOptions,
} from './state-store.js';
export { createCelSource, createCelStateStore, DEFAULT_CEL_SETTINGS, type CelSettings } from './from-settings.js';
