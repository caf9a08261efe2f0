// Tar headers for archive entries, made by the tar package (the native writer only frames them).
// Only its header module: the whole package costs every command that reads an archive its load.
import { Header } from 'tar/header';

export function tarHeader(name: string, size: number, mtime = new Date()): Uint8Array {
  if (Buffer.byteLength(name) > 100) throw new Error(`archive entry name too long: ${name}`);
  const header = new Header({ path: name, mode: 0o600, size, mtime, type: 'File', uid: 0, gid: 0, uname: 'root', gname: 'root' });
  header.encode();
  return header.block as Buffer;
}

export interface ParsedHeader {
  name: string;
  size: number;
  type: string;
  checksumValid: boolean;
  empty: boolean;
}

export function parseTarHeader(block: Buffer): ParsedHeader {
  const empty = block.every((byte) => byte === 0);
  if (empty) return { name: '', size: 0, type: '', checksumValid: true, empty };
  let header: Header;
  try {
    header = new Header(block);
  } catch {
    // tar throws on numbers it cannot represent (a base-256 size past 2^53): not a header of ours.
    return { name: '', size: 0, type: '', checksumValid: false, empty };
  }
  return { name: header.path ?? '', size: header.size ?? 0, type: String(header.type), checksumValid: header.cksumValid === true, empty };
}
