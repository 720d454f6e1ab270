// Sections of README.md that are rendered from the code that owns them (between
// `<!-- name:start -->` / `<!-- name:end -->` markers), so the README cannot drift: `npm run types`
// rewrites them and a test fails when the committed README differs.
import { renderErrorCodesTable } from '../../hooks/error-codes.js';
import { renderSectionTable } from '../settings/generate.js';
import { commands } from '../cli/commands.js';

function renderCommands(): string {
  const rows = Object.entries(commands).map(([name, c]) => `| \`${c.usage}\` | ${c.summary.replace(/\|/g, '\\|')} |`);
  return ['| command | what it does |', '|---|---|', ...rows].join('\n');
}

const SECTIONS: Record<string, () => string> = {
  'cli-commands': renderCommands,
  'sandbox-limits': () => renderSectionTable('sandbox'),
  'error-codes': renderErrorCodesTable,
};

/** README text with every generated section replaced by its current rendering. */
export function applyReadmeSections(readme: string): string {
  let text = readme;
  for (const [name, render] of Object.entries(SECTIONS)) {
    const start = `<!-- ${name}:start -->`;
    const end = `<!-- ${name}:end -->`;
    const a = text.indexOf(start);
    const b = text.indexOf(end);
    if (a < 0 || b < a) throw new Error(`README.md lacks the ${start} … ${end} markers`);
    text = `${text.slice(0, a + start.length)}\n${render()}\n${text.slice(b)}`;
  }
  return text;
}
