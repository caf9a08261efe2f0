// Small helpers to declare protobuf messages in code, for the schemas freezedry writes itself.
import protobuf from 'protobufjs';

export type FieldRow = [name: string, id: number, type: string, rule?: 'optional' | 'required' | 'repeated'];

export function messageType(name: string, fields: FieldRow[]): protobuf.Type {
  const type = new protobuf.Type(name);
  for (const [fieldName, id, fieldType, rule = 'optional'] of fields) type.add(new protobuf.Field(fieldName, id, fieldType, rule));
  return type;
}

const roots: protobuf.Root[] = [];
let prepared = false;

/** A new schema's root, remembered so that prepareCodecs() reaches its types. */
export function schemaRoot(): protobuf.Root {
  const root = new protobuf.Root();
  roots.push(root);
  return root;
}

/**
 * Writes the encoder, decoder and converters of every type in the schemas loaded so far, once.
 * protobufjs writes them at a type's first use, a few ms each (about 40 ms of a restore): the
 * CLI's start-up snapshot calls this as it is built, so that commands start with them written,
 * and a migration before the freeze, so that the frozen path only runs codecs already written.
 */
export function prepareCodecs(): void {
  if (prepared) return;
  prepared = true;
  const visit = (namespace: protobuf.Namespace) => {
    for (const nested of namespace.nestedArray) {
      if (nested instanceof protobuf.Type) nested.setup();
      if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  roots.forEach(visit);
}

export function decodeMessage<T>(type: protobuf.Type, bytes: Uint8Array): T {
  return type.toObject(type.decode(bytes), { longs: Number, enums: Number, defaults: false, arrays: true }) as T;
}
