// The snapshot agent: started by snapshot() outside the caller's tree, it dumps the caller and
// answers through the context pipe (fd 3). Its output goes to a log beside the caller's.
import { writeSync } from 'node:fs';
import { checkpoint } from '../operations/checkpoint.js';
import { isFreezedryError } from '../errors.js';
import { sendReply } from './requests.js';
import type { AgentRequest, SnapshotAnswer } from './snapshot.js';

const CONTEXT_FD = 3;

async function main(): Promise<void> {
  let answer: SnapshotAnswer;
  let request: AgentRequest | undefined;
  try {
    request = JSON.parse(process.argv[2] ?? '') as AgentRequest;
    const result = await checkpoint(request.pid, { ...request.criu, ...request.target, leaveRunning: request.leaveRunning, snapshot: request.facts });
    answer = {
      restored: false,
      ok: true,
      checkpoint: { imagesDir: result.imagesDir, archive: result.archive, durationMs: result.durationMs, stats: result.stats },
    };
  } catch (error) {
    const known = isFreezedryError(error);
    answer = {
      restored: false,
      ok: false,
      error: {
        code: known ? error.code : 'ERR_INTERNAL',
        message: (error as Error).message ?? String(error),
        logFile: known ? error.logFile : undefined,
        criuErrors: known ? error.criuErrors : undefined,
      },
    };
    console.error(error);
  }
  try {
    writeSync(CONTEXT_FD, JSON.stringify(answer));
  } catch (error) {
    console.error('the process that asked for its snapshot is gone:', error); // with leaveRunning false, it ended with its dump
  }
  // A process that ended with its snapshot cannot tell its requester; one that runs on does.
  if (request?.replyTo && !request.leaveRunning) {
    await sendReply(request.replyTo, answer.restored === false && answer.ok ? { ok: true, checkpoint: answer.checkpoint } : { ok: false, error: (answer as { error: { code: string; message: string } }).error });
  }
}

await main();
