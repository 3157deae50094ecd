/**
 * Just enough protobuf to read an ONNX file's contract (metadata, input and output names and
 * shapes) without loading its weights, and to write the tiny deterministic models the tests use.
 * Field numbers are those of onnx.proto (ModelProto, GraphProto, NodeProto, TensorProto,
 * ValueInfoProto, TypeProto).
 */

// ---------- reading ----------

interface Field { no: number; wire: number; value: number | Uint8Array }

function readVarint(buf: Uint8Array, pos: { p: number }): number {
  let result = 0;
  let mul = 1;
  for (;;) {
    const b = buf[pos.p++];
    if (b === undefined) throw new Error('truncated protobuf');
    result += (b & 0x7f) * mul;
    if (b < 0x80) return result;
    mul *= 128;
  }
}

function* fields(buf: Uint8Array): Generator<Field> {
  const pos = { p: 0 };
  while (pos.p < buf.length) {
    const key = readVarint(buf, pos);
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) yield { no, wire, value: readVarint(buf, pos) };
    else if (wire === 2) {
      const len = readVarint(buf, pos);
      if (pos.p + len > buf.length) throw new Error('truncated protobuf');
      yield { no, wire, value: buf.subarray(pos.p, pos.p + len) };
      pos.p += len;
    } else if (wire === 5) pos.p += 4;
    else if (wire === 1) pos.p += 8;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

export interface TensorInfo {
  name: string;
  /** Dimension sizes, or the symbolic name for a dynamic axis. */
  shape: (number | string)[];
  elemType: number;
}

export interface OnnxContract {
  metadata: Record<string, string>;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

function readValueInfo(buf: Uint8Array): TensorInfo {
  const info: TensorInfo = { name: '', shape: [], elemType: 0 };
  for (const f of fields(buf)) {
    if (f.no === 1 && f.wire === 2) info.name = text(f.value as Uint8Array);
    if (f.no === 2 && f.wire === 2) {
      for (const t of fields(f.value as Uint8Array)) {
        if (t.no !== 1 || t.wire !== 2) continue; // tensor_type
        for (const tt of fields(t.value as Uint8Array)) {
          if (tt.no === 1 && tt.wire === 0) info.elemType = tt.value as number;
          if (tt.no === 2 && tt.wire === 2) {
            for (const d of fields(tt.value as Uint8Array)) {
              if (d.no !== 1 || d.wire !== 2) continue;
              let dim: number | string = '?';
              for (const dv of fields(d.value as Uint8Array)) {
                if (dv.no === 1 && dv.wire === 0) dim = dv.value as number;
                if (dv.no === 2 && dv.wire === 2) dim = text(dv.value as Uint8Array);
              }
              info.shape.push(dim);
            }
          }
        }
      }
    }
  }
  return info;
}

/** Reads metadata_props and the graph's declared inputs/outputs (initializers excluded). */
export function readOnnxContract(model: Uint8Array): OnnxContract {
  const contract: OnnxContract = { metadata: {}, inputs: [], outputs: [] };
  const initializers = new Set<string>();
  for (const f of fields(model)) {
    if (f.no === 14 && f.wire === 2) {
      let k = '';
      let v = '';
      for (const e of fields(f.value as Uint8Array)) {
        if (e.no === 1) k = text(e.value as Uint8Array);
        if (e.no === 2) v = text(e.value as Uint8Array);
      }
      contract.metadata[k] = v;
    }
    if (f.no === 7 && f.wire === 2) {
      for (const g of fields(f.value as Uint8Array)) {
        if (g.wire !== 2) continue;
        if (g.no === 5) {
          for (const t of fields(g.value as Uint8Array)) if (t.no === 8) initializers.add(text(t.value as Uint8Array));
        }
        if (g.no === 11) contract.inputs.push(readValueInfo(g.value as Uint8Array));
        if (g.no === 12) contract.outputs.push(readValueInfo(g.value as Uint8Array));
      }
    }
  }
  contract.inputs = contract.inputs.filter((i) => !initializers.has(i.name));
  return contract;
}

// ---------- writing ----------

class Writer {
  private parts: Uint8Array[] = [];
  varint(n: number): this {
    const bytes: number[] = [];
    do {
      let b = n % 128;
      n = Math.floor(n / 128);
      if (n > 0) b |= 0x80;
      bytes.push(b);
    } while (n > 0);
    this.parts.push(Uint8Array.from(bytes));
    return this;
  }
  key(no: number, wire: number): this {
    return this.varint(no * 8 + wire);
  }
  int(no: number, n: number): this {
    return this.key(no, 0).varint(n);
  }
  bytes(no: number, b: Uint8Array): this {
    this.key(no, 2).varint(b.length);
    this.parts.push(b);
    return this;
  }
  str(no: number, s: string): this {
    return this.bytes(no, new TextEncoder().encode(s));
  }
  msg(no: number, w: Writer): this {
    return this.bytes(no, w.finish());
  }
  finish(): Uint8Array {
    const len = this.parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(len);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

export interface NodeSpec { op: string; inputs: string[]; outputs: string[]; attrs?: Record<string, number | number[]> }
export interface InitializerSpec { name: string; dims: number[]; values: Float32Array | number[] }

const FLOAT = 1;

function valueInfo(t: TensorInfo): Writer {
  const shape = new Writer();
  for (const d of t.shape) {
    const dim = new Writer();
    if (typeof d === 'number') dim.int(1, d);
    else dim.str(2, d);
    shape.msg(1, dim);
  }
  const tensorType = new Writer().int(1, t.elemType || FLOAT).msg(2, shape);
  return new Writer().str(1, t.name).msg(2, new Writer().msg(1, tensorType));
}

/** Builds a float32 ONNX model (opset 13) from nodes, initializers and a contract. */
export function writeOnnxModel(spec: {
  nodes: NodeSpec[];
  initializers?: InitializerSpec[];
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  metadata?: Record<string, string>;
}): Uint8Array {
  const graph = new Writer();
  spec.nodes.forEach((n, i) => {
    const node = new Writer();
    for (const x of n.inputs) node.str(1, x);
    for (const x of n.outputs) node.str(2, x);
    node.str(3, `n${i}`).str(4, n.op);
    for (const [name, v] of Object.entries(n.attrs ?? {})) {
      const a = new Writer().str(1, name);
      if (Array.isArray(v)) {
        for (const x of v) a.int(8, x);
        a.int(20, 7); // INTS
      } else {
        a.int(3, v).int(20, 2); // INT
      }
      node.msg(5, a);
    }
    graph.msg(1, node);
  });
  graph.str(2, 'g');
  for (const init of spec.initializers ?? []) {
    const t = new Writer();
    for (const d of init.dims) t.int(1, d);
    t.int(2, FLOAT).str(8, init.name);
    const values = Float32Array.from(init.values);
    t.bytes(9, new Uint8Array(values.buffer));
    graph.msg(5, t);
  }
  for (const i of spec.inputs) graph.msg(11, valueInfo(i));
  for (const o of spec.outputs) graph.msg(12, valueInfo(o));
  const model = new Writer().int(1, 8).str(2, 'stem-splitter-tests').msg(7, graph).msg(8, new Writer().str(1, '').int(2, 13));
  for (const [k, v] of Object.entries(spec.metadata ?? {})) model.msg(14, new Writer().str(1, k).str(2, v));
  return model.finish();
}
