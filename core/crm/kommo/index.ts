// The Kommo adapter: the API v4 client (CrmClient), its settings and limiter. See docs/kommo.md.
export { createKommoClient, type KommoClient, type KommoClientDeps } from './client.js';
export { KommoSettingsError, resolveKommoSettings, type KommoSettings } from './settings.js';
export { SlidingWindowLimiter } from './limiter.js';
export { classifyKommoAnswer, classifyKommoNoAnswer } from './classify.js';
export { lastDigits, phoneMatches, contactPhones } from './phones.js';
