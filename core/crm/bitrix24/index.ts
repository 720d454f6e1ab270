// The Bitrix24 adapter: the REST client (CrmClient), the employee directory and the mapping helpers the
// pipeline uses. See docs/bitrix24.md.
export { createBitrix24Client, type Bitrix24Client, type Bitrix24ClientDeps } from './client.js';
export { Bitrix24SettingsError, resolveBitrix24Settings, type Bitrix24Settings } from './settings.js';
export { createUserDirectory, USER_SELECT, type UserDirectory, type UserDirectoryOptions, type UserDirectoryStatus } from './users.js';
export {
  compactRaw, entityFromRecord, entityFromSearchItem, finishStatusCode, multifieldValues, parseSearchResult, registrationAfterFinish,
  registrationFromRegister, REGISTER_TYPE, unknownUser, userFromBitrix, USER_PHONE_FIELDS, type BitrixEntityType, type SearchItem,
} from './mapping.js';
export { bitrixDateTime, isKnownTimeZone, isoWithOffset } from './time.js';
export { capacityFor } from './limiter.js';
