// A Zstandard frame decoder (RFC 8878) for zarr chunks: one frame, no
// dictionary, decoded whole into the caller's output (the window is the
// output itself). Included by blosc_lz4.c (one WebAssembly module, one
// memory). Written from the RFC; structure after its sections:
//   3.1.1   frame header, blocks (raw, RLE, compressed), checksum skipped
//   3.1.1.3 literals (raw, RLE, Huffman with 1 or 4 streams, treeless)
//           sequences (predefined, RLE, FSE and repeated tables)
//   4.1     FSE table descriptions and decoding tables
//   4.2     Huffman tree descriptions (direct or FSE-compressed weights)
// Untrusted input: every read is checked against the frame's end, every
// write against the output's capacity; any inconsistency is an error code
// (negative), never a trap. Static tables live in this module's globals.
//
// Expects from the including file: u8, u32, size_t, u64 (unaligned),
// rd32, copy16, SLACK.

typedef unsigned short u16;
typedef unsigned long long u64v;

#define ZE_HEADER -1   /* frame header: magic, reserved bit, window */
#define ZE_BLOCK -2    /* a block's header, size or type */
#define ZE_LITERALS -3 /* literals section */
#define ZE_HUFFMAN -4  /* Huffman tree description or stream */
#define ZE_FSE -5      /* FSE table description */
#define ZE_SEQUENCES -6
#define ZE_OFFSET -7 /* a match reaching before the output's start */
#define ZE_SIZE -8   /* the output's size or capacity */
#define ZE_UNSUPPORTED -9 /* dictionaries, frames without the single-frame layout */

static inline u64v rd64(const u8* p) { return *(const u64*)p; }
static inline u32 highbit(u32 v) { return 31 - (u32)__builtin_clz(v); }

// ---- backward bit stream (FSE and Huffman streams, RFC 4.1, 4.2) ----

typedef struct {
  u64v c;       // 8 bytes of the stream, loaded little-endian
  u32 used;     // bits of `c` consumed, from its top
  const u8* p;  // where `c` was loaded from
  const u8* start;
} BitIn;

/** A stream of `len` bytes at `s`, ending in a padding mark: 0, or -1. */
static inline __attribute__((always_inline)) int bits_init(BitIn* b, const u8* s, size_t len) {
  if (len < 1) return -1;
  u8 last = s[len - 1];
  if (last == 0) return -1;
  b->start = s;
  if (len >= 8) {
    b->p = s + len - 8;
    b->c = rd64(b->p);
    b->used = 8 - highbit(last);
  } else {
    b->p = s;
    u64v c = 0;
    for (size_t i = 0; i < len; i++) c |= (u64v)s[i] << (8 * i);
    b->c = c;
    b->used = 8 - highbit(last) + (u32)(8 - len) * 8;
  }
  return 0;
}

/** The next `n` bits (0..56), not consumed. */
static inline __attribute__((always_inline)) u64v bits_look(const BitIn* b, u32 n) {
  return ((b->c << (b->used & 63)) >> 1) >> ((63 - n) & 63);
}
static inline __attribute__((always_inline)) u64v bits_read(BitIn* b, u32 n) {
  u64v v = bits_look(b, n);
  b->used += n;
  return v;
}

/** Refill `c` from the stream: afterwards at least 57 bits are unread unless the stream ends. */
static inline __attribute__((always_inline)) void bits_reload(BitIn* b) {
  if (b->used > 64) return;  // overread: found by bits_done
  if (b->p >= b->start + 8) {
    b->p -= b->used >> 3;
    b->used &= 7;
    b->c = rd64(b->p);
    return;
  }
  if (b->p == b->start) return;
  u32 nb = b->used >> 3;
  if ((size_t)(b->p - b->start) < nb) nb = (u32)(b->p - b->start);
  b->p -= nb;
  b->used -= nb * 8;
  b->c = rd64(b->p);
}

/** Whether the stream was read exactly to its start. */
static inline int bits_done(const BitIn* b) { return b->p == b->start && b->used == 64; }

// ---- FSE (RFC 4.1) ----

typedef struct {
  u16 next;  // base of the next state
  u8 sym;
  u8 nb;  // bits to read for the next state
} Fse;

/**
 * The decoding table of `al` (accuracy log) for the normalized counts
 * `norm[0..n)` (-1: "less than 1"): 0, or -1 when the counts do not fill it.
 */
static int fse_build(Fse* t, const short* norm, u32 n, u32 al) {
  u32 size = 1u << al, high = size - 1;
  u16 next[256];
  for (u32 s = 0; s < n; s++) {
    if (norm[s] == -1) {
      t[high--].sym = (u8)s;
      next[s] = 1;
    } else {
      next[s] = (u16)norm[s];
    }
  }
  u32 step = (size >> 1) + (size >> 3) + 3, mask = size - 1, pos = 0;
  for (u32 s = 0; s < n; s++) {
    for (int i = 0; i < norm[s]; i++) {
      t[pos].sym = (u8)s;
      do pos = (pos + step) & mask;
      while (pos > high);
    }
  }
  if (pos != 0) return -1;
  for (u32 u = 0; u < size; u++) {
    u32 s = t[u].sym;
    u32 x = next[s]++;
    if (x == 0) return -1;
    u32 nb = al - highbit(x);
    t[u].nb = (u8)nb;
    t[u].next = (u16)((x << nb) - size);
  }
  return 0;
}

/** `k` bits (up to 25) at bit `bit` of `ip[0..len)`, bytes past `len` as 0. */
static inline u32 fbits(const u8* ip, size_t len, size_t bit, u32 k) {
  size_t at = bit >> 3;
  u32 v = 0;
  for (u32 i = 0; i < 4; i++) {
    if (at + i < len) v |= (u32)ip[at + i] << (8 * i);
  }
  return (v >> (bit & 7)) & ((1u << k) - 1);
}

/**
 * An FSE table description at `ip` (at most `len` bytes) read into `norm`
 * (up to `maxSym` + 1 symbols, accuracy log at most `maxAl`): its size in
 * bytes, or -1. `*n` the symbols, `*al` the accuracy log.
 */
static int fse_read(const u8* ip, size_t len, short* norm, u32 maxSym, u32 maxAl, u32* n,
                    u32* al) {
  // A forward bit reader over at most `len` bytes (bytes past them read as 0, then refused).
  size_t bit = 0;
#define FBITS(k) fbits(ip, len, bit, k)
  if (len < 1) return -1;
  u32 acc = (ip[0] & 15) + 5;
  if (acc > maxAl) return -1;
  bit = 4;
  int remaining = (1 << acc) + 1, threshold = 1 << acc, nbits = acc + 1;
  u32 sym = 0;
  int prev0 = 0;
  while (remaining > 1 && sym <= maxSym) {
    if (prev0) {
      // Runs of zero-probability symbols: 2-bit repeat counts, 3 meaning "and more".
      for (;;) {
        u32 r = (u32)FBITS(2);
        bit += 2;
        for (u32 k = 0; k < r; k++) {
          if (sym > maxSym) return -1;
          norm[sym++] = 0;
        }
        if (r != 3) break;
      }
      if (sym > maxSym) break;
    }
    int max = (2 * threshold - 1) - remaining;
    int v = (int)FBITS(nbits);
    int count;
    if ((v & (threshold - 1)) < max) {
      count = v & (threshold - 1);
      bit += nbits - 1;
    } else {
      count = v & (2 * threshold - 1);
      if (count >= threshold) count -= max;
      bit += nbits;
    }
    count--;
    remaining -= count < 0 ? -count : count;
    if (remaining < 1) return -1;
    norm[sym++] = (short)count;
    prev0 = count == 0;
    while (remaining < threshold) {
      nbits--;
      threshold >>= 1;
    }
  }
#undef FBITS
  if (remaining != 1 || sym > maxSym + 1) return -1;
  size_t bytes = (bit + 7) >> 3;
  if (bytes > len) return -1;
  for (u32 s = sym; s <= maxSym; s++) norm[s] = 0;
  *n = sym;
  *al = acc;
  return (int)bytes;
}

// ---- Huffman (RFC 4.2) ----

typedef struct {
  u8 sym;
  u8 nb;
} Huf;

static Huf huf[1 << 11];
static u32 huf_bits;  // max code length of the table in `huf` (0: none yet)

/** A Huffman tree description at `ip` (`len` bytes) into `huf`: its size in bytes, or -1. */
static int huf_read(const u8* ip, size_t len) {
  u8 w[256];
  u32 n;
  size_t size;
  if (len < 1) return -1;
  u32 h = ip[0];
  if (h >= 128) {
    // Direct: 4 bits a weight.
    n = h - 127;
    size = 1 + (n + 1) / 2;
    if (size > len) return -1;
    for (u32 i = 0; i < n; i++) w[i] = (i & 1) ? ip[1 + i / 2] & 15 : ip[1 + i / 2] >> 4;
  } else {
    // FSE-compressed weights: two interleaved states over one stream.
    size = 1 + h;
    if (size > len || h == 0) return -1;
    short norm[16];
    u32 ns, al;
    int hs = fse_read(ip + 1, h, norm, 15, 6, &ns, &al);
    if (hs < 0) return -1;
    static Fse t[1 << 6];
    if (fse_build(t, norm, ns, al) != 0) return -1;
    BitIn b;
    if (bits_init(&b, ip + 1 + hs, h - (u32)hs) != 0) return -1;
    u32 s1 = (u32)bits_read(&b, al), s2 = (u32)bits_read(&b, al);
    n = 0;
    for (;;) {
      bits_reload(&b);
      if (b.used > 64 || n > 252) return -1;
      w[n++] = t[s1].sym;
      s1 = t[s1].next + (u32)bits_read(&b, t[s1].nb);
      if (b.used > 64) {
        w[n++] = t[s2].sym;
        break;
      }
      w[n++] = t[s2].sym;
      s2 = t[s2].next + (u32)bits_read(&b, t[s2].nb);
      if (b.used > 64) {
        w[n++] = t[s1].sym;
        break;
      }
    }
  }
  if (n > 255) return -1;
  // The last weight: what makes the sum of 2^(w-1) a power of two.
  u32 total = 0;
  for (u32 i = 0; i < n; i++) {
    if (w[i] > 11) return -1;
    if (w[i]) total += 1u << (w[i] - 1);
  }
  if (total == 0) return -1;
  u32 bits = highbit(total) + 1;
  if (bits > 11) return -1;
  u32 rest = (1u << bits) - total;
  if (rest & (rest - 1)) return -1;  // not a power of two
  w[n++] = (u8)(highbit(rest) + 1);
  // Entries by weight (lowest first), then symbol.
  u32 start[13] = {0};
  u32 count[13] = {0};
  for (u32 i = 0; i < n; i++) count[w[i]]++;
  u32 pos = 0;
  for (u32 k = 1; k <= 12; k++) {
    start[k] = pos;
    pos += count[k] << (k - 1);
  }
  if (pos != 1u << bits) return -1;
  for (u32 i = 0; i < n; i++) {
    u32 k = w[i];
    if (!k) continue;
    u32 len2 = 1u << (k - 1);
    Huf e = {(u8)i, (u8)(bits + 1 - k)};
    for (u32 j = 0; j < len2; j++) huf[start[k] + j] = e;
    start[k] += len2;
  }
  huf_bits = bits;
  return (int)size;
}

#define HUF_SYM(b, o)                                       \
  do {                                                      \
    Huf e_ = huf[((b).c << ((b).used & 63)) >> (64 - bits)]; \
    *(o)++ = e_.sym;                                        \
    (b).used += e_.nb;                                      \
  } while (0)

/** The rest of a Huffman stream: `op` up to `end`, then the stream must be read exactly. */
static int huf_tail(BitIn* b, u8* op, u8* end) {
  const u32 bits = huf_bits;
  // Four symbols a refill (57 bits hold four codes of up to 11).
  while (end - op >= 4) {
    bits_reload(b);
    if (b->used > 64) return -1;
    HUF_SYM(*b, op);
    HUF_SYM(*b, op);
    HUF_SYM(*b, op);
    HUF_SYM(*b, op);
  }
  while (op < end) {
    bits_reload(b);
    HUF_SYM(*b, op);
  }
  bits_reload(b);
  return bits_done(b) ? 0 : -1;
}

/** One Huffman stream of `len` bytes at `ip` decoded to exactly `n` bytes at `op`: 0, or -1. */
static int huf_stream(const u8* ip, size_t len, u8* op, size_t n) {
  BitIn b;
  if (bits_init(&b, ip, len) != 0) return -1;
  return huf_tail(&b, op, op + n);
}

/**
 * Four Huffman streams (`len[k]` bytes each, one after the other at `ip`)
 * decoded to `q` bytes each at `op` (the last to `last`), interleaved
 * while every stream has 8 bytes of input to refill from.
 */
static int huf_streams4(const u8* ip, const size_t* len, u8* op, size_t q, size_t last) {
  BitIn b[4];
  u8* o[4];
  u8* e[4];
  for (int k = 0; k < 4; k++) {
    if (bits_init(&b[k], ip, len[k]) != 0) return -1;
    ip += len[k];
    o[k] = op + k * q;
    e[k] = k < 3 ? o[k] + q : o[k] + last;
  }
  const u32 bits = huf_bits;
  while (e[3] - o[3] >= 4 && b[0].p >= b[0].start + 8 && b[1].p >= b[1].start + 8 &&
         b[2].p >= b[2].start + 8 && b[3].p >= b[3].start + 8) {
    for (int k = 0; k < 4; k++) {
      b[k].p -= b[k].used >> 3;
      b[k].used &= 7;
      b[k].c = rd64(b[k].p);
    }
    for (int r = 0; r < 4; r++) {
      HUF_SYM(b[0], o[0]);
      HUF_SYM(b[1], o[1]);
      HUF_SYM(b[2], o[2]);
      HUF_SYM(b[3], o[3]);
    }
  }
  for (int k = 0; k < 4; k++) {
    if (o[k] > e[k] || huf_tail(&b[k], o[k], e[k]) != 0) return -1;
  }
  return 0;
}

// ---- sequences (RFC 3.1.1.3.2) ----

static const short LL_DEFAULT[36] = {4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2,
                                     2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1, -1, -1, -1, -1};
static const short ML_DEFAULT[53] = {1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                     1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                     1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1};
static const short OF_DEFAULT[29] = {1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1,
                                     1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1};
static const u32 LL_BASE[36] = {0,  1,  2,  3,  4,   5,   6,   7,   8,    9,    10,   11,
                                12, 13, 14, 15, 16,  18,  20,  22,  24,   28,   32,   40,
                                48, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
static const u8 LL_BITS[36] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  1,  1,
                               1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const u32 ML_BASE[53] = {3,  4,  5,  6,  7,  8,  9,  10,  11,  12,  13,   14,   15,   16,
                                17, 18, 19, 20, 21, 22, 23, 24,  25,  26,  27,   28,   29,   30,
                                31, 32, 33, 34, 35, 37, 39, 41,  43,  47,  51,   59,   67,   83,
                                99, 131, 259, 515, 1027, 2051, 4099, 8195, 16387, 32771, 65539};
static const u8 ML_BITS[53] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  0,
                               0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1,  1,  1,
                               2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/** A sequence table's entry: its FSE state's, with its symbol's value base and extra bits. */
typedef struct {
  u32 base;  // the code's base value (offsets: 1 << code)
  u16 next;  // base of the next state
  u8 nb;     // bits to read for the next state
  u8 extra;  // bits to read for the value
} Seq;

typedef struct {
  Seq t[1 << 9];
  u32 al;
  int ready;  // a table is there for "repeat" mode
} Table;

/**
 * `t`'s entries from the FSE table `f` of `al` (one entry when RLE: `al` 0):
 * each code's base value and extra bits (`base`/`bits`; offsets when null:
 * 1 << code and code).
 */
static void seq_fill(Table* t, const Fse* f, u32 al, const u32* base, const u8* bits) {
  for (u32 u = 0; u < (1u << al); u++) {
    u32 c = f[u].sym;
    t->t[u] = (Seq){base ? base[c] : 1u << c, f[u].next, f[u].nb, base ? bits[c] : (u8)c};
  }
  t->al = al;
}

static Table ll_t, ml_t, of_t;

/**
 * A table of the sequences section at `*ip` (before `end`) in `mode` (0
 * predefined, 1 RLE, 2 FSE description, 3 repeat) into `t`: 0, or -1.
 */
static int seq_table(Table* t, u32 mode, const u8** ip, const u8* end, const short* def,
                     u32 defN, u32 defAl, u32 maxSym, u32 maxAl, const u32* base,
                     const u8* bits) {
  static Fse f[1 << 9];
  if (mode == 0) {
    if (fse_build(f, def, defN, defAl) != 0) return -1;
    seq_fill(t, f, defAl, base, bits);
  } else if (mode == 1) {
    if (*ip >= end || **ip > maxSym) return -1;
    f[0] = (Fse){0, **ip, 0};
    seq_fill(t, f, 0, base, bits);
    (*ip)++;
  } else if (mode == 2) {
    short norm[64];
    u32 n, al;
    int size = fse_read(*ip, (size_t)(end - *ip), norm, maxSym, maxAl, &n, &al);
    if (size < 0 || fse_build(f, norm, n, al) != 0) return -1;
    seq_fill(t, f, al, base, bits);
    *ip += size;
  } else if (!t->ready) {
    return -1;
  }
  t->ready = 1;
  return 0;
}

static u8 lit[(128 << 10) + SLACK];

/** A match: `len` bytes from `off` bytes behind `op` (overlapping in steps of the distance). */
static inline __attribute__((always_inline)) void match_copy(u8* op, size_t off, size_t len) {
  const u8* ref = op - off;
  if (off >= 16) {
    for (size_t k = 0; k < len; k += 16) copy16(op + k, ref + k);
  } else if (off >= 8) {
    for (size_t k = 0; k < len; k += 8) *(u64*)(op + k) = *(const u64*)(ref + k);
  } else {
    // Eight bytes, four at a time from a source moved so that the pattern
    // repeats, after which the source is 8 or more bytes behind.
    static const u8 ADD[8] = {0, 1, 2, 1, 4, 4, 4, 4};
    static const u8 SUB[8] = {8, 8, 8, 7, 8, 9, 10, 11};
    op[0] = ref[0];
    op[1] = ref[1];
    op[2] = ref[2];
    op[3] = ref[3];
    ref += ADD[off];
    *(u32a*)(op + 4) = *(const u32a*)ref;
    ref -= SUB[off];
    for (size_t k = 8; k < len; k += 8) *(u64*)(op + k) = *(const u64*)(ref + k);
  }
}

/**
 * A compressed block (`len` bytes at `ip`) decoded at `op`, the frame's
 * output starting at `base` and ending at `oend` (SLACK writable past it):
 * the bytes written, or a negative error.
 */
static int zstd_block(const u8* ip, size_t len, u8* base, u8* op, u8* oend, u32* rep) {
  const u8* const end = ip + len;
  if (len < 1) return ZE_LITERALS;
  // Literals section header.
  u32 type = ip[0] & 3, sf = (ip[0] >> 2) & 3;
  size_t regen, comp = 0, hl;
  if (type < 2) {
    if (sf == 0 || sf == 2) {
      regen = ip[0] >> 3;
      hl = 1;
    } else if (sf == 1) {
      if (len < 2) return ZE_LITERALS;
      regen = (ip[0] >> 4) + ((size_t)ip[1] << 4);
      hl = 2;
    } else {
      if (len < 3) return ZE_LITERALS;
      regen = (ip[0] >> 4) + ((size_t)ip[1] << 4) + ((size_t)ip[2] << 12);
      hl = 3;
    }
  } else {
    hl = sf < 2 ? 3 : sf == 2 ? 4 : 5;
    if (len < hl) return ZE_LITERALS;
    u32 h = ip[0] | (u32)ip[1] << 8 | (u32)ip[2] << 16 | (hl > 3 ? (u32)ip[3] << 24 : 0);
    if (hl == 3) {
      regen = (h >> 4) & 0x3ff;
      comp = (h >> 14) & 0x3ff;
    } else if (hl == 4) {
      regen = (h >> 4) & 0x3fff;
      comp = (h >> 18) & 0x3fff;
    } else {
      regen = (h >> 4) & 0x3ffff;
      comp = (h >> 22) | ((size_t)ip[4] << 10);
    }
  }
  if (regen > (128 << 10)) return ZE_LITERALS;
  ip += hl;
  const u8* lits;
  if (type == 0) {
    if ((size_t)(end - ip) < regen) return ZE_LITERALS;
    lits = ip;
    ip += regen;
  } else if (type == 1) {
    if (ip >= end) return ZE_LITERALS;
    __builtin_memset(lit, *ip, regen);
    lits = lit;
    ip += 1;
  } else {
    if ((size_t)(end - ip) < comp) return ZE_LITERALS;
    const u8* lend = ip + comp;
    const u8* s = ip;
    if (type == 2) {
      int hs = huf_read(s, comp);
      if (hs < 0) return ZE_HUFFMAN;
      s += hs;
    } else if (!huf_bits) {
      return ZE_HUFFMAN;
    }
    if (sf == 0) {
      if (huf_stream(s, (size_t)(lend - s), lit, regen) != 0) return ZE_HUFFMAN;
    } else {
      if (lend - s < 6) return ZE_HUFFMAN;
      size_t l1 = s[0] | (size_t)s[1] << 8, l2 = s[2] | (size_t)s[3] << 8,
             l3 = s[4] | (size_t)s[5] << 8;
      s += 6;
      if ((size_t)(lend - s) < l1 + l2 + l3) return ZE_HUFFMAN;
      size_t l4 = (size_t)(lend - s) - l1 - l2 - l3, q = (regen + 3) / 4;
      if (regen < 3 * q) return ZE_HUFFMAN;
      const size_t lens[4] = {l1, l2, l3, l4};
      if (huf_streams4(s, lens, lit, q, regen - 3 * q) != 0) return ZE_HUFFMAN;
    }
    lits = lit;
    ip = lend;
  }
  const u8* const lits_end = lits + regen;
  // Sequences section header.
  if (ip >= end) return ZE_SEQUENCES;
  u32 nseq = *ip++;
  if (nseq >= 128) {
    if (nseq < 255) {
      if (ip >= end) return ZE_SEQUENCES;
      nseq = ((nseq - 128) << 8) + *ip++;
    } else {
      if (end - ip < 2) return ZE_SEQUENCES;
      nseq = ip[0] + ((u32)ip[1] << 8) + 0x7f00;
      ip += 2;
    }
  }
  u8* const start = op;
  if (nseq == 0) {
    if (ip != end) return ZE_SEQUENCES;
    if ((size_t)(oend - op) < regen) return ZE_SIZE;
    __builtin_memcpy(op, lits, regen);
    return (int)regen;
  }
  if (ip >= end) return ZE_SEQUENCES;
  u32 modes = *ip++;
  if (modes & 3) return ZE_SEQUENCES;
  if (seq_table(&ll_t, modes >> 6, &ip, end, LL_DEFAULT, 36, 6, 35, 9, LL_BASE, LL_BITS) != 0 ||
      seq_table(&of_t, (modes >> 4) & 3, &ip, end, OF_DEFAULT, 29, 5, 31, 8, 0, 0) != 0 ||
      seq_table(&ml_t, (modes >> 2) & 3, &ip, end, ML_DEFAULT, 53, 6, 52, 9, ML_BASE, ML_BITS) !=
        0) {
    return ZE_FSE;
  }
  BitIn b;
  if (bits_init(&b, ip, (size_t)(end - ip)) != 0) return ZE_SEQUENCES;
  u32 sll = (u32)bits_read(&b, ll_t.al), sof = (u32)bits_read(&b, of_t.al),
      sml = (u32)bits_read(&b, ml_t.al);
  const u8* lp = lits;
  // The history in locals (stores through `op` may alias `rep`); the tables
  // as globals (constant addresses: no registers, which V8 runs short of).
  size_t rep0 = rep[0], rep1 = rep[1], rep2 = rep[2];
  for (u32 left = nseq; left; left--) {
    bits_reload(&b);
    if (b.used > 64) return ZE_SEQUENCES;
    const Seq el = ll_t.t[sll], em = ml_t.t[sml], eo = of_t.t[sof];
    // One refill a sequence (57 bits) unless its extra bits and the states'
    // updates (at most 26) need more.
    u32 ofb = eo.extra, mlb = em.extra, llb = el.extra;
    size_t off = eo.base + (size_t)bits_read(&b, ofb);
    if (ofb + mlb + llb + 26 > 57) bits_reload(&b);
    size_t ml = em.base, ll = el.base;
    if (mlb) ml += (size_t)bits_read(&b, mlb);
    if (llb) ll += (size_t)bits_read(&b, llb);
    {
      // Repeat offsets without branches (selects): a new offset (> 3), or
      // repeat k of the history (k counted one further when ll is 0).
      size_t isnew = off > 3;
      size_t k = isnew ? 0 : off - 1 + (ll == 0);
      size_t r = k == 0 ? rep0 : k == 1 ? rep1 : k == 2 ? rep2 : rep0 - 1;
      size_t now = isnew ? off - 3 : r;
      rep2 = (isnew | (k >= 2)) ? rep1 : rep2;
      rep1 = (isnew | (k >= 1)) ? rep0 : rep1;
      rep0 = now;
      off = now;
    }
    if (left > 1) {
      if (mlb + llb + 26 > 57) bits_reload(&b);
      sll = el.next + (u32)bits_read(&b, el.nb);
      sml = em.next + (u32)bits_read(&b, em.nb);
      sof = eo.next + (u32)bits_read(&b, eo.nb);
    }
    // Execute: literals, then the match.
    if ((size_t)(lits_end - lp) < ll) return ZE_SEQUENCES;
    if ((size_t)(oend - op) < ll + ml) return ZE_SIZE;
    copy16(op, lp);
    for (size_t k = 16; k < ll; k += 16) copy16(op + k, lp + k);
    op += ll;
    lp += ll;
    if (off == 0 || off > (size_t)(op - base)) return ZE_OFFSET;
    match_copy(op, off, ml);
    op += ml;
  }
  rep[0] = (u32)rep0;
  rep[1] = (u32)rep1;
  rep[2] = (u32)rep2;
  bits_reload(&b);
  if (!bits_done(&b)) return ZE_SEQUENCES;
  size_t rest = (size_t)(lits_end - lp);
  if ((size_t)(oend - op) < rest) return ZE_SIZE;
  __builtin_memcpy(op, lp, rest);
  op += rest;
  return (int)(op - start);
}

/**
 * The zstd frame at `src` (`srcLen` bytes) decoded into `out`, which has
 * room for `cap` bytes (and SLACK past them): the decoded size, or a
 * negative ZE_ code. Frames must declare their size (the caller checks it
 * against `cap` first); one frame, no dictionary, trailing bytes refused.
 */
__attribute__((export_name("zstd"))) int zstd(const u8* src, u32 srcLen, u8* out, u32 cap) {
  const u8* ip = src;
  const u8* const end = src + srcLen;
  if (srcLen < 6 || rd32(ip) != 0xfd2fb528u) return ZE_HEADER;
  u32 fhd = ip[4];
  if (fhd & 0x08) return ZE_HEADER;
  u32 fcsFlag = fhd >> 6, single = (fhd >> 5) & 1, did = fhd & 3, check = (fhd >> 2) & 1;
  if (did) return ZE_UNSUPPORTED;
  ip += 5;
  if (!single) ip++;  // window descriptor: the whole frame is decoded into `out`
  u32 fcsBytes = fcsFlag == 0 ? single : 1u << fcsFlag;
  if ((size_t)(end - ip) < fcsBytes) return ZE_HEADER;
  u64v size;
  if (fcsBytes == 0) return ZE_UNSUPPORTED;
  if (fcsBytes == 1) size = ip[0];
  else if (fcsBytes == 2) size = (ip[0] | (u32)ip[1] << 8) + 256;
  else if (fcsBytes == 4) size = rd32(ip);
  else size = rd64(ip);
  ip += fcsBytes;
  if (size > cap) return ZE_SIZE;
  u8* op = out;
  u8* const oend = out + size;
  u32 rep[3] = {1, 4, 8};
  huf_bits = 0;
  ll_t.ready = ml_t.ready = of_t.ready = 0;
  for (;;) {
    if (end - ip < 3) return ZE_BLOCK;
    u32 bh = ip[0] | (u32)ip[1] << 8 | (u32)ip[2] << 16;
    ip += 3;
    u32 last = bh & 1, btype = (bh >> 1) & 3, bsize = bh >> 3;
    if (btype == 0) {
      if ((size_t)(end - ip) < bsize || (size_t)(oend - op) < bsize) return ZE_BLOCK;
      __builtin_memcpy(op, ip, bsize);
      ip += bsize;
      op += bsize;
    } else if (btype == 1) {
      if (ip >= end || (size_t)(oend - op) < bsize) return ZE_BLOCK;
      __builtin_memset(op, *ip, bsize);
      ip += 1;
      op += bsize;
    } else if (btype == 2) {
      if ((size_t)(end - ip) < bsize || bsize > (128 << 10)) return ZE_BLOCK;
      int r = zstd_block(ip, bsize, out, op, oend, rep);
      if (r < 0) return r;
      ip += bsize;
      op += r;
    } else {
      return ZE_BLOCK;
    }
    if (last) break;
  }
  if (check) {
    if (end - ip < 4) return ZE_BLOCK;
    ip += 4;  // xxhash64 of the content: not verified
  }
  if (ip != end) return ZE_UNSUPPORTED;
  if ((u64v)(op - out) != size) return ZE_SIZE;
  return (int)size;
}
