// The one rule for which hooks folder `init`, `check`, `try` and `run` use, as their --help prints it
// (core/cli/hook-settings.ts applies it). A module of its own so `callhook --help` loads nothing else.
export const HOOKS_FOLDER_RULE = [
  'hooks folder: the [dir] argument if given; else hooks.folder of the --settings file (relative to that file;',
  'a settings file without hooks.folder has no loose hooks); else ./hooks in the working directory.',
  '`callhook run` without --settings is the demo: the example hooks (examples/hooks of the installation).',
].join('\n');

