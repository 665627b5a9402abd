// The waiting queue: a growable ring buffer with both ends open, because preempted requests go
// back to the front (vLLM V1 `prepend_request`) while new ones join the back.

export class Deque<T> {
  #buf: Array<T | undefined>;
  #head = 0;
  #len = 0;

  constructor(capacity = 64) {
    this.#buf = new Array<T | undefined>(Math.max(4, capacity));
  }

  get length(): number {
    return this.#len;
  }

  /** i-th item from the front; undefined past the end. */
  at(i: number): T | undefined {
    return i < this.#len ? this.#buf[(this.#head + i) % this.#buf.length] : undefined;
  }

  peek(): T | undefined {
    return this.#len > 0 ? this.#buf[this.#head] : undefined;
  }

  push(x: T): void {
    if (this.#len === this.#buf.length) this.#grow();
    this.#buf[(this.#head + this.#len++) % this.#buf.length] = x;
  }

  unshift(x: T): void {
    if (this.#len === this.#buf.length) this.#grow();
    this.#head = (this.#head - 1 + this.#buf.length) % this.#buf.length;
    this.#buf[this.#head] = x;
    this.#len++;
  }

  shift(): T | undefined {
    if (this.#len === 0) return undefined;
    const x = this.#buf[this.#head];
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#buf.length;
    this.#len--;
    return x;
  }

  /** Remove one item wherever it is (aborts are rare, so O(n) is fine). */
  remove(x: T): boolean {
    const cap = this.#buf.length;
    for (let i = 0; i < this.#len; i++) {
      if (this.#buf[(this.#head + i) % cap] !== x) continue;
      for (let j = i; j < this.#len - 1; j++) this.#buf[(this.#head + j) % cap] = this.#buf[(this.#head + j + 1) % cap];
      this.#buf[(this.#head + this.#len - 1) % cap] = undefined;
      this.#len--;
      return true;
    }
    return false;
  }

  #grow(): void {
    const old = this.#buf;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.#len; i++) next[i] = old[(this.#head + i) % old.length];
    this.#buf = next;
    this.#head = 0;
  }
}
