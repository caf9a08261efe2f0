// restore(): the public API's restore of a process tree (the work is in operations/, which
// migrations and transfers call too).
export { restore, type RestoreOptions, type RestoreResult } from './operations/restore.js';
