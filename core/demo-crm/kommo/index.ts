// The local Kommo account (tests, and the demo's CRM when `crm.type` is `demo_kommo`). See docs/kommo.md.
export { startLocalKommo, formatKommoSummary, type LocalKommo, type LocalKommoOptions, type KommoReceived } from './server.js';
export { demoKommoSeed, type KommoSeed, type LocalKommoState, type KommoCall, type KommoContact, type KommoLead, type KommoNote, type KommoUnsorted } from './state.js';
