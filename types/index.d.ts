// The 'callhook' module as hook authors see it: the call_full contract, the hook points and the host API.
export * from './call_full.js';
export * from './hooks.js';
export * from './host-api.js';
