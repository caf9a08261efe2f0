// freezedry's own schema of the CRIU RPC messages it uses (criu-internals.md §1): field
// numbers and types as CRIU's RPC defines them, names of our own choosing. Only these fields
// are ever sent or read; unknown fields in CRIU's answers are skipped by the decoder.
import protobuf from 'protobufjs';

import { messageType as message, schemaRoot } from '../protobuf.js';

const { Enum } = protobuf;

export const RequestType = {
  EMPTY: 0,
  DUMP: 1,
  RESTORE: 2,
  CHECK: 3,
  PRE_DUMP: 4,
  PAGE_SERVER: 5,
  NOTIFY: 6,
  FEATURE_CHECK: 9,
  VERSION: 10,
  WAIT_PID: 11,
  PAGE_SERVER_CHLD: 12,
  SINGLE_PRE_DUMP: 13,
} as const;
export type RequestTypeValue = (typeof RequestType)[keyof typeof RequestType];

const root = schemaRoot();
root.add(new Enum('RequestType', { ...RequestType }));
root.add(message('PageServerInfo', [['address', 1, 'string'], ['port', 2, 'int32'], ['pid', 3, 'int32'], ['fd', 4, 'int32']]));
root.add(message('InheritFd', [['key', 1, 'string', 'required'], ['fd', 2, 'int32', 'required']]));
root.add(
  message('Options', [
    ['imagesDirFd', 1, 'int32', 'required'],
    ['imagesDir', 68, 'string'],
    ['pid', 2, 'int32'],
    ['leaveRunning', 3, 'bool'],
    ['extUnixSk', 4, 'bool'],
    ['tcpEstablished', 5, 'bool'],
    ['shellJob', 7, 'bool'],
    ['fileLocks', 8, 'bool'],
    ['logLevel', 9, 'int32'],
    ['logFile', 10, 'string'],
    ['pageServer', 11, 'PageServerInfo'],
    ['notifyScripts', 12, 'bool'],
    ['root', 13, 'string'],
    ['parentImages', 14, 'string'],
    ['trackMem', 15, 'bool'],
    ['autoDedup', 16, 'bool'],
    ['workDirFd', 17, 'int32'],
    ['linkRemap', 18, 'bool'],
    ['manageCgroups', 24, 'bool'],
    ['restoreAsSibling', 26, 'bool'],
    ['inheritFds', 27, 'InheritFd', 'repeated'],
    ['external', 37, 'string', 'repeated'],
    ['timeout', 45, 'uint32'],
    ['tcpSkipInFlight', 46, 'bool'],
    ['lazyPages', 48, 'bool'],
    ['configFile', 51, 'string'],
    ['tcpClose', 52, 'bool'],
    ['networkLock', 64, 'int32'],
    ['leaveStopped', 69, 'bool'],
  ]),
);
root.add(message('Features', [['memTrack', 1, 'bool'], ['lazyPages', 2, 'bool'], ['pidfdStore', 3, 'bool']]));
root.add(
  message('Request', [
    ['type', 1, 'RequestType', 'required'],
    ['opts', 2, 'Options'],
    ['notifySuccess', 3, 'bool'],
    ['keepOpen', 4, 'bool'],
    ['features', 5, 'Features'],
    ['pid', 6, 'uint32'],
  ]),
);
root.add(message('DumpResult', [['restored', 1, 'bool']]));
root.add(message('RestoreResult', [['pid', 1, 'int32', 'required']]));
root.add(message('Notification', [['script', 1, 'string'], ['pid', 2, 'int32']]));
root.add(
  message('Version', [
    ['major', 1, 'int32', 'required'],
    ['minor', 2, 'int32', 'required'],
    ['gitId', 3, 'string'],
    ['sublevel', 4, 'int32'],
    ['extra', 5, 'int32'],
    ['name', 6, 'string'],
  ]),
);
root.add(
  message('Response', [
    ['type', 1, 'RequestType', 'required'],
    ['success', 2, 'bool', 'required'],
    ['dump', 3, 'DumpResult'],
    ['restore', 4, 'RestoreResult'],
    ['notify', 5, 'Notification'],
    ['pageServer', 6, 'PageServerInfo'],
    ['crErrno', 7, 'int32'],
    ['features', 8, 'Features'],
    ['crErrmsg', 9, 'string'],
    ['version', 10, 'Version'],
    ['status', 11, 'int32'],
  ]),
);
root.resolveAll();

export interface RpcOptions {
  imagesDirFd: number;
  imagesDir?: string;
  pid?: number;
  leaveRunning?: boolean;
  extUnixSk?: boolean;
  tcpEstablished?: boolean;
  shellJob?: boolean;
  fileLocks?: boolean;
  logLevel?: number;
  logFile?: string;
  pageServer?: { address?: string; port?: number; fd?: number };
  notifyScripts?: boolean;
  root?: string;
  parentImages?: string;
  trackMem?: boolean;
  autoDedup?: boolean;
  workDirFd?: number;
  linkRemap?: boolean;
  manageCgroups?: boolean;
  restoreAsSibling?: boolean;
  inheritFds?: { key: string; fd: number }[];
  external?: string[];
  timeout?: number;
  tcpSkipInFlight?: boolean;
  lazyPages?: boolean;
  configFile?: string;
  tcpClose?: boolean;
  networkLock?: number;
  leaveStopped?: boolean;
}

export interface RpcRequest {
  type: RequestTypeValue;
  opts?: RpcOptions;
  notifySuccess?: boolean;
  keepOpen?: boolean;
  features?: RpcFeatures;
  pid?: number;
}

export interface RpcFeatures {
  memTrack?: boolean;
  lazyPages?: boolean;
  pidfdStore?: boolean;
}

export interface RpcResponse {
  type: RequestTypeValue;
  success: boolean;
  dump?: { restored?: boolean };
  restore?: { pid: number };
  notify?: { script?: string; pid?: number };
  pageServer?: { address?: string; port?: number; pid?: number; fd?: number };
  crErrno?: number;
  features?: RpcFeatures;
  crErrmsg?: string;
  version?: { major: number; minor: number; gitId?: string; sublevel?: number; extra?: number; name?: string };
  status?: number;
}

const requestType = root.lookupType('Request');
const responseType = root.lookupType('Response');

export function encodeRequest(request: RpcRequest): Uint8Array {
  return requestType.encode(requestType.fromObject(request)).finish();
}

export function decodeResponse(bytes: Uint8Array): RpcResponse {
  const decoded = responseType.decode(bytes);
  return responseType.toObject(decoded, { enums: Number, longs: Number, defaults: false }) as RpcResponse;
}

/** For tests: the schema's field numbers by message, to compare with an installed rpc.proto. */
export function schemaFields(): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const name of ['Options', 'Request', 'Response', 'Version', 'Features', 'PageServerInfo', 'Notification']) {
    const type = root.lookupType(name);
    out[name] = Object.fromEntries(Object.values(type.fields).map((f) => [f.name, f.id]));
  }
  return out;
}
