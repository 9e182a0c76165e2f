/**
 * Emits pickle opcodes (protocol 2) to build test checkpoints byte by byte, following the pickle format
 * (Lib/pickletools.py documents each opcode), independently of the reader under test.
 */
export class PickleWriter {
  private parts: Buffer[] = [];

  private op(code: number, payload?: Buffer): this {
    this.parts.push(Buffer.from([code]));
    if (payload) this.parts.push(payload);
    return this;
  }

  proto(): this {
    return this.op(0x80, Buffer.from([2]));
  }
  stop(): this {
    return this.op(0x2e);
  }
  mark(): this {
    return this.op(0x28);
  }
  global(module: string, name: string): this {
    return this.op(0x63, Buffer.from(`${module}\n${name}\n`, 'latin1'));
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return this.op(0x58, Buffer.concat([len, b]));
  }
  int(v: number): this {
    if (v >= 0 && v < 256) return this.op(0x4b, Buffer.from([v]));
    if (v >= 0 && v < 65536) {
      const b = Buffer.alloc(2);
      b.writeUInt16LE(v);
      return this.op(0x4d, b);
    }
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    return this.op(0x4a, b);
  }
  /** LONG1: little-endian two's complement of the given byte length. */
  long1(v: bigint, bytes: number): this {
    const b = Buffer.alloc(bytes);
    let x = v < 0n ? (1n << BigInt(8 * bytes)) + v : v;
    for (let i = 0; i < bytes; i++) (b[i] = Number(x & 0xffn)), (x >>= 8n);
    return this.op(0x8a, Buffer.concat([Buffer.from([bytes]), b]));
  }
  float(v: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    return this.op(0x47, b);
  }
  none(): this {
    return this.op(0x4e);
  }
  bool(v: boolean): this {
    return this.op(v ? 0x88 : 0x89);
  }
  emptyTuple(): this {
    return this.op(0x29);
  }
  tuple(): this {
    return this.op(0x74);
  }
  tuple1(): this {
    return this.op(0x85);
  }
  tuple2(): this {
    return this.op(0x86);
  }
  emptyDict(): this {
    return this.op(0x7d);
  }
  emptyList(): this {
    return this.op(0x5d);
  }
  appends(): this {
    return this.op(0x65);
  }
  setitem(): this {
    return this.op(0x73);
  }
  setitems(): this {
    return this.op(0x75);
  }
  reduce(): this {
    return this.op(0x52);
  }
  build(): this {
    return this.op(0x62);
  }
  binput(i: number): this {
    return this.op(0x71, Buffer.from([i]));
  }
  binget(i: number): this {
    return this.op(0x68, Buffer.from([i]));
  }
  longBinput(i: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(i);
    return this.op(0x72, b);
  }
  longBinget(i: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(i);
    return this.op(0x6a, b);
  }
  binpersid(): this {
    return this.op(0x51);
  }
  raw(code: number): this {
    return this.op(code);
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}
