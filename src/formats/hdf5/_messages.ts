// HDF5 object header messages as h5py writes them (file format spec 3.0,
// section IV.A.2): dataspace v1, datatype v1, fill value v2, layout v3,
// filter pipeline v1, attribute v1, symbol table.
import { Bytes, UNDEF } from "./_bytes.ts";

/** Element types we write. */
export type H5Type =
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "float32"
  | "float64"
  | "bool"
  | "str";

/** Message type codes. */
export const MSG = {
  dataspace: 0x01,
  datatype: 0x03,
  fillValue: 0x05,
  layout: 0x08,
  filters: 0x0b,
  attribute: 0x0c,
  symbolTable: 0x11,
} as const;

/** Bytes per element. */
export function elementSize(t: H5Type): number {
  if (t === "str") return 16; // length, global heap collection address, object index
  if (t === "bool") return 1;
  return Number(t.match(/\d+/)![0]) / 8;
}

function fixedPoint(size: number, signed: boolean): Uint8Array {
  // IV.A.2.d class 0: version 1, little-endian, signed flag in bit 3.
  return new Bytes().u8(0x10).u8(signed ? 0x08 : 0).u8(0).u8(0).u32(size)
    .u16(0).u16(size * 8).bytes();
}

/** The datatype message body for an element type. */
export function datatype(t: H5Type): Uint8Array {
  switch (t) {
    case "float32":
      return new Bytes().u8(0x11).u8(0x20).u8(31).u8(0).u32(4)
        .u16(0).u16(32).u8(23).u8(8).u8(0).u8(23).u32(127).bytes();
    case "float64":
      return new Bytes().u8(0x11).u8(0x20).u8(63).u8(0).u32(8)
        .u16(0).u16(64).u8(52).u8(11).u8(0).u8(52).u32(1023).bytes();
    case "bool":
      // numpy bool as h5py writes it: enum { FALSE = 0, TRUE = 1 } over int8.
      return new Bytes().u8(0x18).u16(2).u8(0).u32(1).raw(fixedPoint(1, true))
        .raw(new TextEncoder().encode("FALSE\0\0\0TRUE\0\0\0\0")).u8(0).u8(1).bytes();
    case "str":
      // Variable-length UTF-8 string over unsigned bytes.
      return new Bytes().u8(0x19).u8(0x01).u8(0x01).u8(0).u32(16).raw(fixedPoint(1, false))
        .bytes();
    default:
      return fixedPoint(elementSize(t), t.startsWith("int"));
  }
}

/**
 * A compound datatype (IV.A.2.d class 6, version 1, as HDF5 writes one
 * without array members): records of `size` bytes, member `k` named
 * `names[k]` of type `types[k]` at byte `offsets[k]`.
 */
export function compoundType(
  names: string[],
  types: H5Type[],
  offsets: number[],
  size: number,
): Uint8Array {
  const b = new Bytes().u8(0x16).u16(names.length).u8(0).u32(size);
  for (const [k, name] of names.entries()) {
    // The name and its NUL, padded to a multiple of 8 bytes.
    const bytes = new TextEncoder().encode(name);
    const padded = Math.ceil((bytes.length + 1) / 8) * 8;
    b.raw(bytes).raw(new Uint8Array(padded - bytes.length));
    // Offset; dimensionality 0, reserved, permutation, reserved, 4 dimension sizes.
    b.u32(offsets[k]).u8(0).u8(0).u16(0).u32(0).u32(0).u32(0).u32(0).u32(0).u32(0);
    b.raw(datatype(types[k]));
  }
  return b.bytes();
}

/** Dataspace v1: rank 0 is a scalar. */
export function dataspace(shape: readonly number[]): Uint8Array {
  const b = new Bytes().u8(1).u8(shape.length).u8(0).u8(0).u32(0);
  for (const d of shape) b.u64(d);
  return b.bytes();
}

/** Fill value v2, as h5py writes it (default fill, allocation late or incremental). */
export function fillValue(chunked: boolean): Uint8Array {
  return new Bytes().u8(2).u8(chunked ? 3 : 2).u8(0).u8(1).u32(0).bytes();
}

/** Layout v3, contiguous. */
export function contiguousLayout(address: number | undefined, size: number): Uint8Array {
  return new Bytes().u8(3).u8(1).u64(address === undefined ? UNDEF : address).u64(size).bytes();
}

/** Layout v3, chunked, indexed by a v1 B-tree at `btree`. */
export function chunkedLayout(btree: number, chunk: readonly number[], elem: number): Uint8Array {
  const b = new Bytes().u8(3).u8(2).u8(chunk.length + 1).u64(btree);
  for (const c of chunk) b.u32(c);
  return b.u32(elem).bytes();
}

/** Filter pipeline v1 with deflate at `level`. */
export function deflatePipeline(level: number): Uint8Array {
  return new Bytes().u8(1).u8(1).u16(0).u32(0)
    .u16(1).u16(0).u16(0).u16(1).u32(level).u32(0).bytes();
}

/** Symbol table message: the group's B-tree and local heap. */
export function symbolTable(btree: number, heap: number): Uint8Array {
  return new Bytes().u64(btree).u64(heap).bytes();
}

/** Attribute v1: name, datatype, dataspace and the raw value bytes. */
export function attribute(
  name: string,
  type: Uint8Array,
  space: Uint8Array,
  value: Uint8Array,
): Uint8Array {
  const nameBytes = new TextEncoder().encode(`${name}\0`);
  return new Bytes().u8(1).u8(0).u16(nameBytes.length).u16(type.length).u16(space.length)
    .raw(nameBytes).pad(8).raw(type).pad(8).raw(space).pad(8).raw(value).bytes();
}

/** A version 1 object header holding `messages` (each `[type, body]`) in one block. */
export function objectHeader(messages: [number, Uint8Array][]): Uint8Array {
  const body = new Bytes();
  for (const [type, data] of messages) {
    const size = Math.ceil(data.length / 8) * 8;
    if (size > 0xffff) throw new RangeError(`an object header message of ${size} bytes is too big`);
    body.u16(type).u16(size).u8(type === MSG.datatype ? 1 : 0).u8(0).u16(0).raw(data).pad(8);
  }
  return new Bytes().u8(1).u8(0).u16(messages.length).u32(1).u32(body.length).u32(0)
    .raw(body.bytes()).bytes();
}
