// Small helpers to declare protobuf messages in code, for the schemas freezedry writes itself.
import protobuf from 'protobufjs';

export type FieldRow = [name: string, id: number, type: string, rule?: 'optional' | 'required' | 'repeated'];

export function messageType(name: string, fields: FieldRow[]): protobuf.Type {
  const type = new protobuf.Type(name);
  for (const [fieldName, id, fieldType, rule = 'optional'] of fields) type.add(new protobuf.Field(fieldName, id, fieldType, rule));
  return type;
}

export function decodeMessage<T>(type: protobuf.Type, bytes: Uint8Array): T {
  return type.toObject(type.decode(bytes), { longs: Number, enums: Number, defaults: false, arrays: true }) as T;
}

/**
 * Walks a message's fields with protobufjs's Reader, calling `onField` for each; fields it does
 * not take (it returns false) are skipped. For records read by the thousand on a restore's path
 * (pagemap entries, VMAs), where building a generated decoder and its toObject pass costs more
 * than the walk itself.
 */
export function forEachField(bytes: Uint8Array, onField: (field: number, wireType: number, reader: protobuf.Reader) => boolean): void {
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (!onField(tag >>> 3, tag & 7, reader)) reader.skipType(tag & 7);
  }
}

/** A uint64 varint as a number (addresses and page counts stay far below 2^53). */
export function readUint64(reader: protobuf.Reader): number {
  const value: unknown = reader.uint64();
  return typeof value === 'number' ? value : (value as { toNumber(unsigned: boolean): number }).toNumber(true);
}
