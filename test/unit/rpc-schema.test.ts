import { existsSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { RequestType, decodeResponse, encodeRequest, schemaFields } from '../../src/criu/rpc-schema.js';
import { repoRoot } from '../helpers/workloads.js';

describe('CRIU RPC schema', () => {
  it('puts the request type in field 1, as CRIU reads it', () => {
    const bytes = encodeRequest({ type: RequestType.DUMP, opts: { imagesDirFd: 5, pid: 42 } });
    expect(bytes[0]).toBe(0x08); // field 1, varint
    expect(bytes[1]).toBe(RequestType.DUMP);
  });

  it('decodes a response and ignores fields it does not know', () => {
    const writer = protobuf.Writer.create();
    writer.uint32((1 << 3) | 0).int32(RequestType.RESTORE);
    writer.uint32((2 << 3) | 0).bool(true);
    writer.uint32((4 << 3) | 2).fork().uint32((1 << 3) | 0).int32(1234).ldelim();
    writer.uint32((99 << 3) | 0).int32(7); // a field from a future CRIU
    expect(decodeResponse(writer.finish())).toEqual({ type: RequestType.RESTORE, success: true, restore: { pid: 1234 } });
  });

  const installed = path.join(repoRoot, '.deps', 'criu', 'include', 'criu', 'rpc.proto');
  it.runIf(existsSync(installed))("agrees with the installed CRIU's rpc.proto on every field number and type", () => {
    const root = protobuf.loadSync(installed);
    const pairs: Record<string, string> = {
      Options: 'criu_opts',
      Request: 'criu_req',
      Response: 'criu_resp',
      Version: 'criu_version',
      Features: 'criu_features',
      PageServerInfo: 'criu_page_server_info',
      Notification: 'criu_notify',
    };
    const ours = schemaFields();
    for (const [name, theirs] of Object.entries(pairs)) {
      const type = root.lookupType(theirs);
      for (const [field, id] of Object.entries(ours[name] ?? {})) {
        expect(type.fieldsById[id], `${name}.${field} (#${id}) is not in ${theirs}`).toBeDefined();
      }
    }
    // And what we encode, CRIU's own schema decodes to the same values.
    const bytes = encodeRequest({
      type: RequestType.DUMP,
      keepOpen: false,
      opts: { imagesDirFd: 5, pid: 42, leaveRunning: true, tcpEstablished: true, logLevel: 4, logFile: 'dump.log', lazyPages: true },
    });
    const decoded = root.lookupType('criu_req').toObject(root.lookupType('criu_req').decode(bytes), { enums: String });
    expect(decoded).toMatchObject({
      type: 'DUMP',
      opts: { imagesDirFd: 5, pid: 42, leaveRunning: true, tcpEstablished: true, logLevel: 4, logFile: 'dump.log', lazyPages: true },
    });
  });
  if (!existsSync(installed)) console.warn(`SKIP rpc.proto comparison: ${installed} missing (run scripts/provision.sh)`);
});
