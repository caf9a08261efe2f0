// checkpoint(): the public API's dump of a process tree (the work is in operations/, which
// migrations and transfers call too).
export { checkpoint, type CheckpointOptions, type CheckpointProgress, type CheckpointResult } from './operations/checkpoint.js';
