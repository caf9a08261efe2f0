// node:tls and node:http, loaded when a migration first needs them rather than when its modules
// load: neither can be in the CLI's V8 start-up snapshot (src/cli/snapshot-entry.ts), which loads
// every command's modules. node:tls holds native references V8 cannot serialize, and node:http
// calls Array.prototype.toSorted as it loads, which node 20 adds only once a snapshot runs.
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);
export const tlsModule = () => load('node:tls') as typeof import('node:tls');
export const httpModule = () => load('node:http') as typeof import('node:http');
