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
