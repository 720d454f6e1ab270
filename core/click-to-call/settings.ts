// Settings the schema accepts but click-to-call cannot work with: named by key before anything starts.
import type { HookPointName } from '../../hooks/catalogue.js';
import type { Settings } from '../settings/index.js';

/** The hook points click-to-call and routing run (when click_to_call.enabled is on with a live CEL source). */
export const CLICK_TO_CALL_POINTS: readonly HookPointName[] = ['process_originate_params', 'customize_autodistribution'];

export class ClickToCallSettingsError extends Error {
  constructor(readonly key: string, problem: string) {
    super(`${key}: ${problem}`);
    this.name = 'ClickToCallSettingsError';
  }
}

export const MIN_TOKEN_LENGTH = 16;

/** Only when click_to_call.enabled is on. Messages never contain a value (they are secrets). */
export function checkClickToCallSettings(settings: Pick<Settings, 'click_to_call' | 'ami'>): void {
  const c = settings.click_to_call;
  if (c.token.length < MIN_TOKEN_LENGTH) {
    throw new ClickToCallSettingsError('click_to_call.token', `click-to-call is enabled, so the endpoints need a token of at least ${MIN_TOKEN_LENGTH} characters (e.g. \`openssl rand -hex 24\`); the dialplan's CURL() sends it`);
  }
  if (settings.ami.username === '' || settings.ami.secret === '') {
    throw new ClickToCallSettingsError(settings.ami.username === '' ? 'ami.username' : 'ami.secret', 'click-to-call is enabled, so the connector needs the AMI user and secret of manager.conf (write = originate, read = call)');
  }
}
