/**
 * A minimal, safe unpickler (protocols 0–5 binary opcodes) for reading PyTorch checkpoints.
 * Nothing is executed: every GLOBAL goes through `findClass`, which returns a plain JS callable or throws.
 *
 * Python values map to: None → null, bool → boolean, int → number (bigint when beyond 2^53),
 * float → number, str → string, bytes → Uint8Array, tuple → PyTuple, list → array, dict → Map.
 */

/** Tuples are kept distinct from lists so callers can tell `(a, b)` from `[a, b]`. */
export class PyTuple {
  constructor(readonly items: unknown[]) {}
}

/** A global reference resolved by `findClass`: called by REDUCE / NEWOBJ with the argument tuple's items. */
export type PyCallable = (...args: unknown[]) => unknown;

export interface UnpickleOptions {
  findClass: (module: string, name: string) => PyCallable;
  persistentLoad?: (pid: unknown) => unknown;
}

const MARK = Symbol('mark');

/** Objects that receive BUILD state they cannot use (e.g. a state_dict's `_metadata`) keep it here. */
export const PICKLE_STATE = Symbol('pickleState');

export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder('utf-8');
  const latin1 = new TextDecoder('latin1');
  let pos = 0;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const need = (n: number): void => {
    if (pos + n > bytes.length) throw new Error('unpickle: truncated data');
  };
  const u8 = (): number => (need(1), bytes[pos++]!);
  const u16 = (): number => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = (): number => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = (): number => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('unpickle: length too large');
    return Number(v);
  };
  const take = (n: number): Uint8Array => {
    need(n);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw new Error('unpickle: truncated line');
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0) throw new Error('unpickle: stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw new Error('unpickle: stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (!prev) throw new Error('unpickle: MARK missing');
    stack = prev;
    return items;
  };
  const setItems = (d: unknown, kv: unknown[]): void => {
    if (!(d instanceof Map)) throw new Error('unpickle: SETITEM(S) on a non-dict');
    for (let i = 0; i + 1 < kv.length; i += 2) d.set(kv[i], kv[i + 1]);
  };
  const call = (f: unknown, args: unknown): unknown => {
    if (typeof f !== 'function') throw new Error('unpickle: REDUCE on a non-callable');
    if (!(args instanceof PyTuple)) throw new Error('unpickle: REDUCE arguments are not a tuple');
    return (f as PyCallable)(...args.items);
  };
  const longFromBytes = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    const safe = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER);
    return safe ? Number(v) : v;
  };
  const persistent = (pid: unknown): unknown => {
    if (!opts.persistentLoad) throw new Error('unpickle: persistent id without a persistentLoad handler');
    return opts.persistentLoad(pid);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        if (stack.length === 0) popMark();
        else stack.pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(longFromBytes(take(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(longFromBytes(take(u32())));
        break;
      case 0x49: {
        // INT (text): "00"/"01" are the protocol-0 booleans
        const s = line();
        stack.push(s === '00' ? false : s === '01' ? true : Number.parseInt(s, 10));
        break;
      }
      case 0x4c: {
        // LONG (text)
        const v = BigInt(line().replace(/L$/, ''));
        const safe = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER);
        stack.push(safe ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x46: // FLOAT (text)
        stack.push(Number.parseFloat(line()));
        break;
      case 0x58: // BINUNICODE
        stack.push(text.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text.decode(take(u64())));
        break;
      case 0x54: // BINSTRING
        stack.push(latin1.decode(take(i32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1.decode(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice());
        break;
      case 0x96: // BYTEARRAY8
        stack.push(take(u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b, c]));
        break;
      }
      case 0x74: // TUPLE
        {
        const items = popMark(); // before reading `stack`: popMark replaces it
        stack.push(new PyTuple(items));
      }
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: {
        // LIST
        const items = popMark();
        stack.push(items);
      }
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) throw new Error('unpickle: APPEND on a non-list');
        l.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) throw new Error('unpickle: APPENDS on a non-list');
        l.push(...items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: {
        // DICT
        const d = new Map();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) throw new Error('unpickle: ADDITEMS on a non-set');
        for (const it of items) s.add(it);
        break;
      }
      case 0x91: // FROZENSET
        {
          const items = popMark();
          stack.push(new Set(items));
        }
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        stack.push(opts.findClass(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new Error('unpickle: bad STACK_GLOBAL');
        stack.push(opts.findClass(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const f = pop();
        stack.push(call(f, args));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const obj = top();
        const setState = (obj as { __setstate__?: unknown } | null)?.__setstate__;
        if (typeof setState === 'function') setState.call(obj, state);
        else if (obj !== null && typeof obj === 'object') (obj as Record<symbol, unknown>)[PICKLE_STATE] = state;
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x70: // PUT (text)
        memo.set(Number.parseInt(line(), 10), top());
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: {
        // GET (text)
        const idx = op === 0x68 ? u8() : op === 0x6a ? u32() : Number.parseInt(line(), 10);
        if (!memo.has(idx)) throw new Error(`unpickle: memo key ${idx} missing`);
        stack.push(memo.get(idx));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistent(pop()));
        break;
      case 0x50: // PERSID (text)
        stack.push(persistent(line()));
        break;
      default:
        throw new Error(`unpickle: unsupported opcode 0x${op.toString(16)} at byte ${pos - 1}`);
    }
  }
}
