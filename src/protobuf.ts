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

const DECODED_FORM: protobuf.IConversionOptions = { longs: Number, enums: Number, defaults: false, arrays: true };

/**
 * Writes the encoder, decoder and converters of every type in the schemas loaded so far, once,
 * and runs each once on an empty message, which has V8 compile them. protobufjs writes them at a
 * type's first use, a few ms each (about 40 ms of a restore), and V8 compiles a function at its
 * first call. The CLI's start-up snapshot calls this as it is built, so that commands start with
 * them written and compiled, and a migration before the freeze, so that the frozen path only runs
 * codecs already written.
 */
export function prepareCodecs(): void {
  if (prepared) return;
  prepared = true;
  const visit = (namespace: protobuf.Namespace) => {
    for (const nested of namespace.nestedArray) {
      if (nested instanceof protobuf.Type) compileCodecs(nested);
      if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  roots.forEach(visit);
}

function compileCodecs(type: protobuf.Type): void {
  type.setup();
  const empty = type.fromObject({});
  type.toObject(empty, DECODED_FORM);
  // Either may refuse an empty message for a required field: V8 compiled it before it ran.
  try {
    type.encode(empty).finish();
  } catch {
    // a required message field
  }
  try {
    type.decode(new Uint8Array(0));
  } catch {
    // a required field
  }
}

export function decodeMessage<T>(type: protobuf.Type, bytes: Uint8Array): T {
  return type.toObject(type.decode(bytes), DECODED_FORM) as T;
}
