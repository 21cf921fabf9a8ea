export { KeyvRingCache, type KeyvRingCacheOptions, type KeyvEntry } from './keyv-ringcache';
