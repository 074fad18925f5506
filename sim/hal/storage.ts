/**
 * A simulated Storage (lib/hal/storage.ts's KvStorage) that behaves as Espruino 2v29's `require("Storage")`
 * does (checked on the Linux build): names longer than 28 characters are cut to 28; writing an empty file
 * throws ("Can't create zero length file"); contents are binary strings kept as they are. A byte capacity makes
 * `write` answer false when the flash would be full. Espruino subset: it runs inside device bundles too.
 */
import { KvStorage } from "../../lib/hal/storage";

export class SimStorage implements KvStorage {
  private f_: { [k: string]: string } = {}; // " " + name (see lib/broker/retain.ts for the space)
  private used_ = 0;

  constructor(readonly capacity: number) {}

  read(name: string): string | undefined {
    return this.f_[" " + name.substring(0, 28)];
  }

  write(name: string, data: string): boolean {
    if (!data.length) throw new Error("Can't create zero length file");
    const k = " " + name.substring(0, 28);
    const old = this.f_[k];
    const used = this.used_ - (old === undefined ? 0 : old.length) + data.length;
    if (used > this.capacity) return false;
    this.used_ = used;
    this.f_[k] = data;
    return true;
  }

  erase(name: string): void {
    const k = " " + name.substring(0, 28);
    const old = this.f_[k];
    if (old === undefined) return;
    this.used_ -= old.length;
    delete this.f_[k];
  }

  list(re?: RegExp): string[] {
    const out: string[] = [];
    for (const k in this.f_) {
      const n = k.substring(1);
      if (!re || re.test(n)) out.push(n);
    }
    return out;
  }
}
