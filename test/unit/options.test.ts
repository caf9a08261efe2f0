import { describe, expect, it } from 'vitest';
import { commonRpcOptions, validateCriuOptions, validatePid } from '../../src/criu/options.js';

describe('CRIU options', () => {
  it('maps criu flag names to RPC fields, with notifications only when someone listens', () => {
    expect(commonRpcOptions({ tcpEstablished: true, shellJob: true, logLevel: 4, onNotification: () => {} })).toMatchObject({
      tcpEstablished: true,
      shellJob: true,
      logLevel: 4,
      notifyScripts: true,
    });
    expect(commonRpcOptions({ signal: new AbortController().signal }).notifyScripts).toBe(true);
    expect(commonRpcOptions({}).notifyScripts).toBe(false);
    expect(commonRpcOptions({}).logLevel).toBe(2);
  });

  it('rejects values of the wrong type before anything runs', () => {
    expect(() => validateCriuOptions({ tcpEstablished: 'yes' as unknown as boolean })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => validateCriuOptions({ logLevel: 9 as 4 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => validateCriuOptions({ timeoutMs: -5 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => validatePid(0)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(validatePid(12)).toBe(12);
  });
});
