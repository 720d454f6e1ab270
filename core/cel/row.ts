// One CEL row as the connector sees it, whatever the source (MariaDB `cel` table, JSON Lines, CSV).
// Column names follow the FreePBX `asteriskcdrdb.cel` table (see ../shared/spec/asterisk-cel.md §1.3).
// Sources normalise to this shape: every text column is a string ('' when absent), `id` is the
// source's write order (the only reliable order: eventtime has 1 s resolution on FreePBX).
export interface CelRow {
  /** Write order in the source: the table's auto-increment id, or the line number for files without ids. */
  id: number;
  eventtype: string;
  /** `YYYY-MM-DD HH:MM:SS[.ffffff]`, local time of the PBX. */
  eventtime: string;
  cid_name: string;
  cid_num: string;
  cid_ani: string;
  cid_rdnis: string;
  cid_dnid: string;
  exten: string;
  context: string;
  channame: string;
  appname: string;
  appdata: string;
  amaflags: number;
  accountcode: string;
  peeraccount: string;
  uniqueid: string;
  linkedid: string;
  userfield: string;
  peer: string;
  userdeftype: string;
  /** The raw `extra` JSON text as Asterisk wrote it ('' when the column is absent or empty). */
  extra: string;
}

export const CEL_COLUMNS = [
  'eventtype', 'eventtime', 'cid_name', 'cid_num', 'cid_ani', 'cid_rdnis', 'cid_dnid', 'exten', 'context',
  'channame', 'appname', 'appdata', 'amaflags', 'accountcode', 'peeraccount', 'uniqueid', 'linkedid',
  'userfield', 'peer', 'userdeftype', 'extra',
] as const satisfies readonly (keyof CelRow)[];
