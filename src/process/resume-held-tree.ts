// The script a watchdog (watchdog.ts) runs with node once the process that held a tree stopped
// after a CRIU dump has died (held-tree.ts says what it does):
//   node resume-held-tree.js --run-id ID|--images DIR|--no-signal LOCK ROOT_PID PID...
// LOCK: the dump's run id ('' when none), or the directory of its inventory (--images).
// --no-signal: a container (its own namespace: no LOCK needed), thawed by runc after this.
import { resumeHeldTree } from './held-tree.js';

const [how, lock, ...pids] = process.argv.slice(2);
const dump = how === '--images' ? { imagesDir: lock } : { runId: lock || undefined };
await resumeHeldTree(pids.map(Number), dump, { signal: how !== '--no-signal' });
