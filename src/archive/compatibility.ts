// Can this host take a checkpoint made elsewhere? Named gaps instead of an obscure CRIU failure.
import { ErrorCode, FreezedryError } from '../errors.js';
import type { CriuVersion } from '../criu/version.js';
import { cpuFlags, type SourceHost } from './manifest.js';

// Instruction-set features a restored program may already be using (it picked code paths at
// start-up): missing any of them here makes it crash on its next such instruction.
export const ISA_FLAGS = new Set([
  'sse', 'sse2', 'pni', 'ssse3', 'sse4_1', 'sse4_2', 'popcnt', 'aes', 'pclmulqdq', 'avx', 'avx2', 'f16c', 'fma', 'bmi1',
  'bmi2', 'adx', 'movbe', 'rdrand', 'rdseed', 'sha_ni', 'xsave', 'xsaveopt', 'xsavec', 'xsaves', 'avx512f', 'avx512dq',
  'avx512cd', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'avx_vnni', 'vaes', 'vpclmulqdq', 'gfni', 'erms', 'fsrm',
  'clflushopt', 'clwb', 'lzcnt', 'abm', 'cx16', 'amx_tile', 'amx_int8', 'amx_bf16',
]);

export interface CompatibilityGap {
  missingCpuFlags: string[];
  criu?: string;
  arch?: string;
}

export function compatibilityGaps(source: SourceHost, criu: CriuVersion): CompatibilityGap {
  const here = new Set(cpuFlags());
  const gap: CompatibilityGap = { missingCpuFlags: source.cpuFlags.filter((flag) => ISA_FLAGS.has(flag) && !here.has(flag)) };
  if (source.arch !== process.arch) gap.arch = `made on ${source.arch}, this host is ${process.arch}`;
  const [major = 0, minor = 0] = source.criuVersion.split('.').map(Number);
  if (major > criu.major || (major === criu.major && minor > criu.minor)) {
    gap.criu = `made by CRIU ${source.criuVersion}, this host has ${criu.text}, which may not read its images`;
  }
  return gap;
}

export function assertCompatible(source: SourceHost, criu: CriuVersion, file: string): void {
  const gap = compatibilityGaps(source, criu);
  const reasons = [
    gap.arch,
    gap.missingCpuFlags.length > 0 ? `this CPU lacks ${gap.missingCpuFlags.join(', ')} (the checkpoint came from ${source.hostname})` : undefined,
    gap.criu,
  ].filter(Boolean);
  if (reasons.length > 0) {
    throw new FreezedryError(ErrorCode.INCOMPATIBLE_HOST, `${file} cannot be restored on this host: ${reasons.join('; ')} (force skips this check)`, {
      ...gap,
    });
  }
}
