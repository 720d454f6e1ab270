// A small parser of the Prometheus text exposition format (0.0.4), strict enough that a malformed line
// fails the test: # HELP / # TYPE lines, samples `name{label="value",...} value [timestamp]`.
export interface Sample { name: string; labels: Record<string, string>; value: number }
export interface Family { name: string; type: string; help: string; samples: Sample[] }

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,?)/.exec(rest);
    if (m === null) throw new Error(`bad labels in: ${line}`);
    labels[m[1] as string] = (m[2] as string).replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    rest = rest.slice(m[0].length);
    if (m[3] === '' && rest.length > 0) throw new Error(`bad labels in: ${line}`);
  }
  return labels;
}

function parseValue(s: string, line: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  const v = Number(s);
  if (s === '' || Number.isNaN(v)) throw new Error(`bad value in: ${line}`);
  return v;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) { f = { name, type: 'untyped', help: '', samples: [] }; families.set(name, f); }
    return f;
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
      if (m === null) continue; // a plain comment
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3] as string)) throw new Error(`bad TYPE: ${line}`);
        family(m[2] as string).type = m[3] as string;
      } else family(m[2] as string).help = m[3] as string;
      continue;
    }
    const nameMatch = NAME.exec(line);
    if (nameMatch === null) throw new Error(`bad sample: ${line}`);
    const name = nameMatch[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      const end = rest.lastIndexOf('}');
      if (end < 0) throw new Error(`bad sample: ${line}`);
      labels = parseLabels(rest.slice(1, end), line);
      rest = rest.slice(end + 1);
    }
    const parts = rest.trim().split(/\s+/);
    if (parts.length < 1 || parts.length > 2) throw new Error(`bad sample: ${line}`);
    const value = parseValue(parts[0] as string, line);
    // A histogram's/summary's samples belong to the family without the suffix.
    const base = [...families.keys()].find((f) => name === f || ((families.get(f)?.type === 'histogram' || families.get(f)?.type === 'summary') && /^(.*)_(bucket|sum|count)$/.exec(name)?.[1] === f)) ?? name;
    family(base).samples.push({ name, labels, value });
  }
  return families;
}

export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
