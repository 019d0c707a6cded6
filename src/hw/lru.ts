/**
 * True-LRU orders of set-associative arrays, packed in Int32 words, and
 * LruSets, a standalone store of them.
 *
 * The order of a set is the list of its way numbers from most to least
 * recently used, stored position by position:
 *
 * - Up to 16 ways: 4-bit way numbers, two words per set (8 bytes). Position
 *   0 (the MRU way) is bits 0-3 of the first word, position 7 bits 28-31,
 *   positions 8-15 the second word likewise:
 *
 *     word 0:  | p7 | p6 | p5 | p4 | p3 | p2 | p1 | p0 |   p0 = MRU way
 *     word 1:  | p15| p14| p13| p12| p11| p10| p9 | p8 |
 *
 *   touch() finds a way's position with the "has a zero nibble" bit trick
 *   and moves the nibbles in front of it up by one with shifts and masks: a
 *   dozen integer operations, no loop, no victim scan. A fill, which makes
 *   the LRU way the MRU one, is fewer still (rotateLru).
 * - More ways (up to MAX_WAYS): 8-bit way numbers, four to a word, the same
 *   way round; operations loop over the words.
 *
 * Positions past the last way hold the unused numbers (ways, ways + 1, ...)
 * and never move. Emptied ways are moved to the LRU end (demote), so empty
 * ways form a suffix of the order and the LRU way is an empty one whenever
 * the set has one.
 *
 * The functions take the array and the index of the set's first word, so
 * that an owner can keep a set's order next to the rest of the set (one host
 * cache line). This is the one LRU of the hardware: the TLBs (tlbsets.ts,
 * tlb.ts), the caches (cachesets.ts, cache.ts) and the PWC (pwc.ts, one
 * fully associative set per CPU) all keep their orders with these functions.
 */

/** Ways are numbered in bytes in the wide representation: at most 255. */
export const MAX_WAYS = 255;
// Used here as a plain module constant, which V8 folds to an immediate
// (an exported binding is read through a cell, with a check, at each use).
const NIBBLE = 16;
/** Most ways the nibble representation holds. */
export const NIBBLE_WAYS = NIBBLE;

const NIB_ONES = 0x11111111;
const NIB_HIGHS = 0x88888888 | 0;
const BYTE_ONES = 0x01010101;
const BYTE_HIGHS = 0x80808080 | 0;

/** Words of one set's order. */
export function orderWords(ways: number): number {
  return ways <= NIBBLE ? 2 : (ways + 3) >>> 2;
}

/** Writes the initial order (ways in number order, way 0 most recent) of the set at ord[i]. */
export function orderInit(ord: Int32Array, i: number, ways: number): void {
  if (ways <= NIBBLE) {
    ord[i] = 0x76543210;
    ord[i + 1] = 0xfedcba98 | 0;
    return;
  }
  const n = (ways + 3) >>> 2;
  for (let q = 0; q < n; q++) {
    const b = q * 4;
    ord[i + q] = (b | ((b + 1) << 8) | ((b + 2) << 16) | ((b + 3) << 24)) | 0;
  }
}

/** Way at position p of the order at ord[i]. */
export function orderAt(ord: Int32Array, i: number, ways: number, p: number): number {
  return ways <= NIBBLE ? (ord[i + (p >>> 3)] >>> ((p & 7) << 2)) & 15 : (ord[i + (p >>> 2)] >>> ((p & 3) << 3)) & 255;
}

function orderSet(ord: Int32Array, i: number, ways: number, p: number, w: number): void {
  if (ways <= NIBBLE) {
    const j = i + (p >>> 3);
    const sh = (p & 7) << 2;
    ord[j] = (ord[j] & ~(15 << sh)) | (w << sh);
  } else {
    const j = i + (p >>> 2);
    const sh = (p & 3) << 3;
    ord[j] = (ord[j] & ~(255 << sh)) | (w << sh);
  }
}

/** Makes way w the most recently used. */
export function orderTouch(ord: Int32Array, i: number, ways: number, w: number): void {
  if (ways > NIBBLE) {
    touchWide(ord, i, ways, w);
    return;
  }
  const lo = ord[i];
  if ((lo & 15) === w) return;
  const pat = Math.imul(w, NIB_ONES);
  let x = lo ^ pat;
  // high bit of each nibble of x that is zero: exact for the lowest one, and
  // the nibbles of an order are distinct, so there is at most one
  let z = ((x - NIB_ONES) | 0) & ~x & NIB_HIGHS;
  if (z !== 0) {
    // positions 0..p-1 move up one; p (>= 1) becomes w's new place 0
    const low = (z & -z) >>> 3; // 1 << 4p; for p = 7 the mask below wraps to all ones
    ord[i] = (lo & ~((low << 4) - 1)) | ((lo & (low - 1)) << 4) | w;
  } else {
    // w is in the second word: the first moves up whole, its top nibble to position 8
    const hi = ord[i + 1];
    x = hi ^ pat;
    z = ((x - NIB_ONES) | 0) & ~x & NIB_HIGHS;
    const low = (z & -z) >>> 3;
    ord[i + 1] = (hi & ~((low << 4) - 1)) | ((hi & (low - 1)) << 4) | (lo >>> 28);
    ord[i] = (lo << 4) | w;
  }
}

/** The least recently used way: the next victim (an empty way if the set has one). */
export function orderLru(ord: Int32Array, i: number, ways: number): number {
  return orderAt(ord, i, ways, ways - 1);
}

/**
 * Makes the LRU way the most recently used (a fill). For the nibble case,
 * lruMasks(ways) gives the word (0, 1) and masks to write it out in place:
 *   word 0:  ord[i] = (lo & ~upto) | ((lo & below) << 4) | w
 *   word 1:  ord[i + 1] = (hi & ~upto) | ((hi & below) << 4) | (lo >>> 28);
 *            ord[i] = (lo << 4) | w
 */
export function orderRotateLru(ord: Int32Array, i: number, ways: number): number {
  if (ways > NIBBLE) return rotateWide(ord, i, ways);
  const w = orderLru(ord, i, ways);
  const q = (ways - 1) & 7;
  const below = (1 << (q << 2)) - 1;
  const upto = q === 7 ? -1 : (1 << ((q + 1) << 2)) - 1;
  const lo = ord[i];
  if (ways <= 8) {
    ord[i] = (lo & ~upto) | ((lo & below) << 4) | w;
  } else {
    const hi = ord[i + 1];
    ord[i + 1] = (hi & ~upto) | ((hi & below) << 4) | (lo >>> 28);
    ord[i] = (lo << 4) | w;
  }
  return w;
}

/**
 * Makes way w the least recently used: it was emptied, so it is the next
 * victim. Nibble orders: w's position p is found as in touch(), and the
 * positions behind it, up to the last way's, move down one with shifts and
 * masks (no loop); wide orders loop.
 */
export function orderDemote(ord: Int32Array, i: number, ways: number, w: number): void {
  if (ways > NIBBLE) {
    demoteWide(ord, i, ways, w);
    return;
  }
  const last = ways - 1;
  const lo = ord[i];
  const pat = Math.imul(w, NIB_ONES);
  let x = lo ^ pat;
  // the nibbles of an order are distinct, so the lowest zero nibble is w's (see touch)
  let z = ((x - NIB_ONES) | 0) & ~x & NIB_HIGHS;
  let p: number;
  if (z !== 0) p = (31 - Math.clz32(z & -z)) >>> 2;
  else {
    x = ord[i + 1] ^ pat;
    z = ((x - NIB_ONES) | 0) & ~x & NIB_HIGHS;
    p = 8 + ((31 - Math.clz32(z & -z)) >>> 2);
  }
  if (p === last) return;
  if (last <= 7) {
    // positions p..last-1 take p+1..last, last takes w
    const below = (1 << (p << 2)) - 1;
    const upto = last === 7 ? -1 : (1 << ((last + 1) << 2)) - 1;
    const lastNib = 15 << (last << 2);
    ord[i] = (lo & (below | ~upto)) | ((lo >>> 4) & upto & ~below & ~lastNib) | (w << (last << 2));
    return;
  }
  const hi = ord[i + 1];
  const lh = last - 8;
  const uptoH = lh === 7 ? -1 : (1 << ((lh + 1) << 2)) - 1;
  const lastNibH = 15 << (lh << 2);
  if (p <= 7) {
    // the first word from p up moves down one, taking position 8; the second word's 8..last-1 take 9..last
    const below = (1 << (p << 2)) - 1;
    ord[i] = (lo & below) | ((lo >>> 4) & ~below & 0x0fffffff) | ((hi & 15) << 28);
    ord[i + 1] = (hi & ~uptoH) | ((hi >>> 4) & uptoH & ~lastNibH) | (w << (lh << 2));
  } else {
    const belowH = (1 << ((p - 8) << 2)) - 1;
    ord[i + 1] = (hi & (belowH | ~uptoH)) | ((hi >>> 4) & uptoH & ~belowH & ~lastNibH) | (w << (lh << 2));
  }
}

/** orderDemote for more than 16 ways (rare: PWC drops): a loop. */
function demoteWide(ord: Int32Array, i: number, ways: number, w: number): void {
  let p = 0;
  while (orderAt(ord, i, ways, p) !== w) p++;
  for (; p < ways - 1; p++) orderSet(ord, i, ways, p, orderAt(ord, i, ways, p + 1));
  orderSet(ord, i, ways, ways - 1, w);
}

/**
 * orderRotateLru for more than 16 ways: the LRU way is the last position's,
 * so every position in front of it moves up one byte, word by word from the
 * last, with no search (touchWide would first look for it).
 */
function rotateWide(ord: Int32Array, i: number, ways: number): number {
  const last = i + ((ways - 1) >>> 2);
  const p = (ways - 1) & 3; // the LRU way's byte in its word
  const v = ord[last];
  const w = (v >>> (p << 3)) & 255;
  const below = (1 << (p << 3)) - 1;
  const upto = p === 3 ? -1 : (1 << ((p + 1) << 3)) - 1;
  ord[last] = (v & ~upto) | ((v & below) << 8) | (last > i ? ord[last - 1] >>> 24 : w);
  for (let k = last - 1; k >= i; k--) ord[k] = (ord[k] << 8) | (k > i ? ord[k - 1] >>> 24 : w);
  return w;
}

/** touch() for more than 16 ways: find w's byte, move the bytes in front of it up one. */
function touchWide(ord: Int32Array, i: number, ways: number, w: number): void {
  const pat = Math.imul(w, BYTE_ONES);
  const n = (ways + 3) >>> 2;
  let q = 0;
  let z = 0;
  for (; q < n; q++) {
    const x = ord[i + q] ^ pat;
    z = ((x - BYTE_ONES) | 0) & ~x & BYTE_HIGHS;
    if (z !== 0) break;
  }
  const low = (z & -z) >>> 7; // 1 << 8p within word q
  const v = ord[i + q];
  let carry = q > 0 ? ord[i + q - 1] >>> 24 : w;
  ord[i + q] = (v & ~((low << 8) - 1)) | ((v & (low - 1)) << 8) | carry;
  for (let k = q - 1; k >= 0; k--) {
    const u = ord[i + k];
    carry = k > 0 ? ord[i + k - 1] >>> 24 : w;
    ord[i + k] = (u << 8) | carry;
  }
}

/**
 * LruSets: the orders of `sets` sets of one array, two or more words each.
 * Slot numbering is the owner's: slot = set * ways + way.
 */
export class LruSets {
  readonly sets: number;
  readonly ways: number;
  private readonly ord: Int32Array;
  private readonly stride: number;

  constructor(sets: number, ways: number) {
    if (!Number.isInteger(ways) || ways < 1 || ways > MAX_WAYS) throw new Error(`associativity ${ways} out of range 1..${MAX_WAYS}`);
    this.sets = sets;
    this.ways = ways;
    this.stride = orderWords(ways);
    this.ord = new Int32Array(sets * this.stride);
    for (let s = 0; s < sets; s++) orderInit(this.ord, s * this.stride, ways);
  }

  /** The most recently used way of set s. */
  mru(s: number): number {
    return orderAt(this.ord, s * this.stride, this.ways, 0);
  }

  /** The least recently used way of set s: the next victim (an empty way if the set has one). */
  lru(s: number): number {
    return orderLru(this.ord, s * this.stride, this.ways);
  }

  /** Makes way w of set s the most recently used. */
  touch(s: number, w: number): void {
    orderTouch(this.ord, s * this.stride, this.ways, w);
  }

  /** Makes way w of set s the least recently used: it was emptied, so it is the next victim. */
  demote(s: number, w: number): void {
    orderDemote(this.ord, s * this.stride, this.ways, w);
  }

  /** Ways of set s from most to least recently used (for tests and dumps). */
  order(s: number): number[] {
    const out: number[] = [];
    for (let p = 0; p < this.ways; p++) out.push(orderAt(this.ord, s * this.stride, this.ways, p));
    return out;
  }
}
