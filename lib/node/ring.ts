/**
 * Store and forward (issue 7, requirement 4): a bounded ring of readings taken while the link is down, each
 * with its original timestamp (ms; `relative` when the node had no SNTP time and the value is ms since boot)
 * and its sequence number, published in order once the link is back.
 *
 * Sequence numbers: one counter per node, for every reading. `push()` takes one for a stored reading,
 * `takeSeq()` one for a reading published directly (link up, ring empty). When the ring is full, `push()`
 * drops the oldest reading and counts it in `dropped`: the consumer sees the gap in the numbers.
 *
 * RAM: fixed capacity, typed arrays allocated in the constructor; `push`, `peek`, `shift` and `drain` allocate
 * nothing without storage. `peek`/`drain` hand out one preallocated RingRecord, overwritten by the next call:
 * serialize it before returning.
 *
 * Storage (optional, ESP32): a KvStorage mirror so readings survive a reboot. Readings are grouped in chunks
 * of `chunk` consecutive readings; a chunk is one file `<file>c<seq of its first reading>`, written whole from
 * RAM when it fills up and by `flush()` (before deep sleep or restart; a flushed partial chunk is rewritten
 * when it grows) — one flash write per `chunk` readings, never the whole ring. A chunk's file is erased once
 * all its readings are sent or dropped. So a crash loses at most the unflushed part of the newest chunk, and
 * readings of a partly sent chunk are sent again after a reboot (at least once: the consumer dedupes by
 * sequence number). File format: one line per reading, `seq,ts,relative(0|1),v0,v1,...\n`, a missing field
 * empty. The sequence counter is reserved in blocks: `<file>s` holds a number above every sequence number
 * used, written once per `seqBlock` numbers, so numbers stay monotonic across reboots (a reboot skips the rest
 * of the block: a gap without loss, `dropped` counts real losses).
 * Storage.read() strings are mapped onto flash and die when the file is erased or rewritten: `load()` parses
 * each file into the RAM ring at once and keeps no string it read.
 */
import { Err } from "../errors";
import { KvStorage } from "../hal/storage";
import { FieldSource } from "./filters";

export interface RingOptions {
  /** Field names stored per reading (at most 8), e.g. ["tempC", "rhPct"]. */
  fields: string[];
  /** Readings held in RAM (at least 2 with storage). */
  capacity: number;
  /** Mirror to this storage when given. */
  storage?: KvStorage;
  /** File name prefix in storage (short: names are cut at 28 characters). Default "fwd". */
  file?: string;
  /** Readings per storage file. Default 16 (at most `capacity`). */
  chunk?: number;
  /** Sequence numbers reserved per write of the counter. Default 64. */
  seqBlock?: number;
}

export const RING_FIELDS_MAX = 8;

/** Err.Argument when the options are out of range, else Err.Ok. */
export function checkRingOptions(o: RingOptions): Err {
  if (!o.fields.length || o.fields.length > RING_FIELDS_MAX) return Err.Argument;
  if (!(o.capacity >= 1 && Math.floor(o.capacity) === o.capacity)) return Err.Argument;
  if (o.chunk !== undefined && !(o.chunk >= 1)) return Err.Argument;
  if (o.seqBlock !== undefined && !(o.seqBlock >= 1)) return Err.Argument;
  return Err.Ok;
}

/** One reading as `peek()`/`drain()` hand it out. */
export class RingRecord {
  seq = 0;
  /** Milliseconds: since 1970 (SNTP time) or, when `relative`, since boot. */
  ts = 0;
  relative = false;
  /** Bit k set: `values[k]` (field `fields[k]`) was measured. */
  mask = 0;
  readonly values: Float64Array;

  constructor(readonly fields: string[]) {
    this.values = new Float64Array(fields.length);
  }

  has(k: number): boolean {
    return (this.mask & (1 << k)) !== 0;
  }
}

export class Ring {
  readonly fields: string[];
  /** Readings lost to overflow since construction (including at `load()`). */
  dropped = 0;
  /** Failed storage writes (storage full): those readings are in RAM only. */
  writeErrors = 0;
  private readonly cap_: number;
  private readonly k_: number;
  private head_ = 0;
  private len_ = 0;
  private seq_ = 0;
  private readonly seqs_: Float64Array;
  private readonly ts_: Float64Array;
  private readonly rel_: Uint8Array;
  private readonly mask_: Uint8Array;
  private readonly val_: Float64Array;
  private readonly rec_: RingRecord;
  // storage mirror: a queue of chunks, oldest first
  private readonly st_: KvStorage | undefined;
  private readonly file_: string;
  private readonly chunk_: number;
  private readonly block_: number;
  private reserved_ = 0; // every sequence number used is below this, saved in storage
  private readonly cFirst_: Float64Array; // file name number
  private readonly cSize_: Uint16Array; // readings ever put in the chunk
  private readonly cLeft_: Uint16Array; // of them still in RAM (the newest ones)
  private readonly cDirty_: Uint8Array;
  private cHead_ = 0;
  private cLen_ = 0;

  constructor(o: RingOptions) {
    this.fields = o.fields.slice(0, RING_FIELDS_MAX);
    const cap = Math.max(o.storage ? 2 : 1, Math.floor(o.capacity));
    this.cap_ = cap;
    this.k_ = this.fields.length;
    this.seqs_ = new Float64Array(cap);
    this.ts_ = new Float64Array(cap);
    this.rel_ = new Uint8Array(cap);
    this.mask_ = new Uint8Array(cap);
    this.val_ = new Float64Array(cap * this.k_);
    this.rec_ = new RingRecord(this.fields);
    this.st_ = o.storage;
    this.file_ = o.file ?? "fwd";
    this.chunk_ = Math.max(1, Math.min(Math.floor(o.chunk ?? 16), cap, 65535));
    this.block_ = Math.max(1, Math.floor(o.seqBlock ?? 64));
    const nc = o.storage ? Math.ceil(cap / this.chunk_) + 2 : 0;
    this.cFirst_ = new Float64Array(nc);
    this.cSize_ = new Uint16Array(nc);
    this.cLeft_ = new Uint16Array(nc);
    this.cDirty_ = new Uint8Array(nc);
  }

  get length(): number {
    return this.len_;
  }

  get capacity(): number {
    return this.cap_;
  }

  /** The sequence number the next reading gets. */
  get nextSeq(): number {
    return this.seq_;
  }

  /** A sequence number for a reading published without going through the ring. */
  takeSeq(): number {
    const s = this.seq_;
    this.seq_ = s + 1;
    if (this.st_ && s >= this.reserved_) this.reserve_(s + this.block_);
    return s;
  }

  /** Stores a reading (fields missing from `r` are marked missing); its sequence number. */
  push(r: FieldSource, ts: number, relative: boolean): number {
    if (this.len_ === this.cap_) this.remove_(true);
    const seq = this.takeSeq();
    const i = this.append_(seq, ts, relative);
    const src = r as { readonly [field: string]: number | undefined };
    let mask = 0;
    const base = i * this.k_;
    for (let k = 0; k < this.k_; k++) {
      const v = src[this.fields[k] as string];
      if (typeof v === "number") {
        this.val_[base + k] = v;
        mask |= 1 << k;
      }
    }
    this.mask_[i] = mask;
    if (this.st_) this.chunkAdd_(seq);
    return seq;
  }

  /** The oldest reading (in the shared record), or null when the ring is empty. */
  peek(): RingRecord | null {
    if (!this.len_) return null;
    const i = this.head_;
    const rec = this.rec_;
    rec.seq = this.seqs_[i] as number;
    rec.ts = this.ts_[i] as number;
    rec.relative = this.rel_[i] === 1;
    rec.mask = this.mask_[i] as number;
    for (let k = 0; k < this.k_; k++) rec.values[k] = this.val_[i * this.k_ + k] as number;
    return rec;
  }

  /** Removes the oldest reading (sent); false when empty. */
  shift(): boolean {
    if (!this.len_) return false;
    this.remove_(false);
    return true;
  }

  /**
   * Hands out readings oldest first while `send` returns true (true: sent, remove it; false: not sent, e.g.
   * outbox full: stop and keep it for the next drain). The number sent.
   */
  drain(send: (rec: RingRecord) => boolean): number {
    let n = 0;
    for (let rec = this.peek(); rec; rec = this.peek()) {
      if (!send(rec)) break;
      this.remove_(false);
      n++;
    }
    return n;
  }

  /** Writes every chunk not yet in storage (call before deep sleep or restart). Err.NoMemory: storage full. */
  flush(): Err {
    let err = Err.Ok;
    for (let c = 0; c < this.cLen_; c++) {
      const j = (this.cHead_ + c) % this.cFirst_.length;
      if (this.cDirty_[j] && this.writeChunk_(c)) err = Err.NoMemory;
    }
    return err;
  }

  /**
   * Once, before the first push: the sequence counter and the readings stored before a reboot. Err.Argument
   * when the ring is not empty; Err.Ok without storage.
   */
  load(): Err {
    const st = this.st_;
    if (!st) return Err.Ok;
    if (this.len_ || this.cLen_) return Err.Argument;
    const saved = parseInt(st.read(this.file_ + "s") ?? "", 10); // a number: nothing of the string is kept
    const firsts = this.chunkFiles_(st);
    for (let f = 0; f < firsts.length; f++) this.loadChunk_(st, firsts[f] as number);
    let next = saved >= 0 ? saved : 0;
    if (this.len_) next = Math.max(next, (this.seqs_[(this.head_ + this.len_ - 1) % this.cap_] as number) + 1);
    this.seq_ = Math.max(this.seq_, next);
    this.reserved_ = this.seq_; // the next takeSeq() saves a new block
    return Err.Ok;
  }

  // ---- RAM ring ----

  private append_(seq: number, ts: number, relative: boolean): number {
    const i = (this.head_ + this.len_) % this.cap_;
    this.seqs_[i] = seq;
    this.ts_[i] = ts;
    this.rel_[i] = relative ? 1 : 0;
    this.mask_[i] = 0;
    this.len_++;
    return i;
  }

  private remove_(drop: boolean): void {
    this.head_ = this.head_ + 1 === this.cap_ ? 0 : this.head_ + 1;
    this.len_--;
    if (drop) this.dropped++;
    if (this.st_) this.chunkRemove_(this.st_);
  }

  // ---- storage mirror ----

  private reserve_(upTo: number): void {
    this.reserved_ = upTo;
    if (!(this.st_ as KvStorage).write(this.file_ + "s", "" + upTo)) this.writeErrors++;
  }

  private chunkAdd_(seq: number): void {
    const n = this.cFirst_.length;
    let j = (this.cHead_ + this.cLen_ - 1) % n;
    if (!this.cLen_ || (this.cSize_[j] as number) >= this.chunk_) {
      j = (this.cHead_ + this.cLen_) % n;
      this.cLen_++;
      this.cFirst_[j] = seq;
      this.cSize_[j] = 0;
      this.cLeft_[j] = 0;
    }
    this.cSize_[j] = (this.cSize_[j] as number) + 1;
    this.cLeft_[j] = (this.cLeft_[j] as number) + 1;
    this.cDirty_[j] = 1;
    if (this.cSize_[j] === this.chunk_) this.writeChunk_(this.cLen_ - 1);
  }

  private chunkRemove_(st: KvStorage): void {
    const j = this.cHead_;
    this.cLeft_[j] = (this.cLeft_[j] as number) - 1;
    if (this.cLeft_[j]) return;
    st.erase(this.file_ + "c" + this.cFirst_[j]);
    this.cDirty_[j] = 0;
    this.cHead_ = (j + 1) % this.cFirst_.length;
    this.cLen_--;
  }

  /** Writes the c-th chunk (0: oldest) from RAM; Err.NoMemory when storage is full. */
  private writeChunk_(c: number): Err {
    const n = this.cFirst_.length;
    let pos = 0; // ring offset of the chunk's first reading still in RAM
    for (let d = 0; d < c; d++) pos += this.cLeft_[(this.cHead_ + d) % n] as number;
    const j = (this.cHead_ + c) % n;
    const left = this.cLeft_[j] as number;
    let s = "";
    for (let r = 0; r < left; r++) s += this.line_((this.head_ + pos + r) % this.cap_);
    if (!(this.st_ as KvStorage).write(this.file_ + "c" + this.cFirst_[j], s)) {
      this.writeErrors++;
      return Err.NoMemory;
    }
    this.cDirty_[j] = 0;
    return Err.Ok;
  }

  private line_(i: number): string {
    let s = this.seqs_[i] + "," + this.ts_[i] + "," + this.rel_[i];
    const m = this.mask_[i] as number;
    for (let k = 0; k < this.k_; k++) s += m & (1 << k) ? "," + this.val_[i * this.k_ + k] : ",";
    return s + "\n";
  }

  /** First sequence numbers of this ring's chunk files, ascending. */
  private chunkFiles_(st: KvStorage): number[] {
    const pre = this.file_ + "c";
    const names = st.list();
    const out: number[] = [];
    for (let f = 0; f < names.length; f++) {
      const name = names[f] as string;
      if (name.indexOf(pre) !== 0) continue;
      const tail = name.substring(pre.length);
      const v = parseInt(tail, 10);
      if (v >= 0 && "" + v === tail) out.push(v);
    }
    out.sort(function (a, b) {
      return a - b;
    });
    return out;
  }

  /** Parses one chunk file into the RAM ring at once (the flash string dies when the file changes). */
  private loadChunk_(st: KvStorage, first: number): void {
    const name = this.file_ + "c" + first;
    const data = st.read(name);
    let got = 0;
    let at = 0;
    const len = data === undefined ? 0 : data.length;
    while (data !== undefined && at < len) {
      let end = data.indexOf("\n", at);
      if (end < 0) end = len;
      if (this.loadLine_(data.substring(at, end), first, got)) got++;
      at = end + 1;
    }
    if (!got) {
      st.erase(name); // empty or unreadable
      return;
    }
    const j = (this.cHead_ + this.cLen_ - 1) % this.cFirst_.length;
    this.cDirty_[j] = this.cLeft_[j] === this.cSize_[j] ? 0 : 1; // 1: lines dropped for room, rewrite at flush
  }

  /** One stored line into the ring; false when it is malformed. */
  private loadLine_(line: string, first: number, got: number): boolean {
    const p = line.split(",");
    if (p.length !== 3 + this.k_) return false;
    const seq = parseInt(p[0] as string, 10);
    const ts = parseFloat(p[1] as string);
    if (!(seq >= 0) || ts !== ts) return false;
    if (this.len_ === this.cap_) this.remove_(true);
    if (!got) this.chunkOpen_(first);
    const i = this.append_(seq, ts, p[2] === "1");
    let mask = 0;
    for (let k = 0; k < this.k_; k++) {
      const t = p[3 + k] as string;
      const v = parseFloat(t);
      if (t.length && v === v) {
        this.val_[i * this.k_ + k] = v;
        mask |= 1 << k;
      }
    }
    this.mask_[i] = mask;
    const j = (this.cHead_ + this.cLen_ - 1) % this.cFirst_.length;
    this.cSize_[j] = (this.cSize_[j] as number) + 1;
    this.cLeft_[j] = (this.cLeft_[j] as number) + 1;
    return true;
  }

  private chunkOpen_(first: number): void {
    const n = this.cFirst_.length;
    if (this.cLen_ === n) this.dropChunk_();
    const j = (this.cHead_ + this.cLen_) % n;
    this.cLen_++;
    this.cFirst_[j] = first;
    this.cSize_[j] = 0;
    this.cLeft_[j] = 0;
    this.cDirty_[j] = 0;
  }

  /** More chunk files than slots (a smaller chunk size before): drops the oldest chunk's readings. */
  private dropChunk_(): void {
    const left = this.cLeft_[this.cHead_] as number;
    for (let r = 0; r < left; r++) this.remove_(true);
  }
}
