// Blosc (format 1) chunks of LZ4 blocks (and of zstd blocks, with the frame
// decoder of zstd_frame.c, which also decodes zarr's bare zstd chunks), decoded in WebAssembly with SIMD
// the LZ4 block decoder and the byte unshuffle of src/formats/_blosc.ts, for
// the chunks that dominate a zarr v2 read (numcodecs' default is blosc lz4
// with byte shuffle). Built by `deno task wasm` (clang, wasm32, freestanding:
// no libc; memcpy/memset lower to bulk-memory instructions) into
// blosc_lz4.wasm.ts; test/formats/wasm_test.ts rebuilds it and compares.
//
// Untrusted input: every read is checked against the chunk's end and every
// write against the output's end. The caller (TypeScript) has checked the
// header (sizes against the declared cap) and laid out one memory:
//   [src: srcLen] [out: nbytes + SLACK] [tmp: blocksize + SLACK]
// Copies may run up to SLACK bytes past a stream's end, always inside that
// memory, and only over bytes that are written again afterwards.
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long size_t;
typedef u8 v16 __attribute__((vector_size(16), aligned(1)));
typedef unsigned long long u64 __attribute__((aligned(1)));
typedef unsigned int u32a __attribute__((aligned(1)));

#define SLACK 64
#define SHUFFLE 0x1
#define DONT_SPLIT 0x10
#define MAX_SPLITS 16
#define MIN_BUFFERSIZE 128

/** Where decoding stopped: the block and what was wrong (see `error`). */
static int err_block = 0;
static int err_kind = 0;
enum {
  E_BLOCK_START = 1,  // a block's start outside the chunk
  E_PAST_END = 2,     // a stream's size field or bytes past the chunk's end
  E_LZ4 = 3,          // an LZ4 stream that is malformed or decodes to the wrong size
  E_SPLIT = 4,        // a block that does not split evenly into its streams
  E_ZSTD = 5,         // a zstd stream that is malformed or decodes to the wrong size
};

static int fail(int block, int kind) {
  err_block = block;
  err_kind = kind;
  return -1;
}

static inline void copy16(u8* d, const u8* s) { *(v16*)d = *(const v16*)s; }

typedef signed char i8v16 __attribute__((vector_size(16)));
/** For an LZ4 match offset `off` < 16: byte i of a 16-byte store is byte i % off of the period. */
#define P(o)                                                                                  \
  {0 % o, 1 % o, 2 % o, 3 % o, 4 % o, 5 % o, 6 % o, 7 % o, 8 % o, 9 % o, 10 % o, 11 % o, 12 % o, \
   13 % o, 14 % o, 15 % o}
static const i8v16 PERIOD[16] = {{0}, P(1), P(2), P(3), P(4), P(5), P(6), P(7),
                                 P(8), P(9), P(10), P(11), P(12), P(13), P(14), P(15)};
#undef P
/** Whole periods in 16 bytes, in bytes: how far apart the stores of PERIOD[off] go. */
static const u8 STEP[16] = {0, 16, 16, 15, 16, 15, 12, 14, 8, 9, 10, 11, 12, 13, 14, 15};

static inline u32 rd32(const u8* p) {
  return (u32)p[0] | ((u32)p[1] << 8) | ((u32)p[2] << 16) | ((u32)p[3] << 24);
}

/** Add an LZ4 length's extra bytes (255 means another follows) to `len`; -1 past the end. */
static inline int more_len(const u8** ip, const u8* iend, size_t* len) {
  u32 c;
  do {
    if (*ip >= iend) return -1;
    c = *(*ip)++;
    *len += c;
  } while (c == 255);
  return 0;
}

/**
 * Decode the LZ4 block [ip, iend) into [op, oend): its decoded size, or -1;
 * or, once a sequence ends at or past `ostop` (a caller that wants only the
 * start of the block), the size decoded so far. Writes may reach SLACK bytes
 * past oend (see above).
 */
static int lz4_block(const u8* ip, const u8* iend, u8* op, u8* oend, const u8* ostop) {
  u8* const start = op;
  for (;;) {
    if (op >= ostop) return (int)(op - start);
    if (ip >= iend) return -1;
    u32 token = *ip++;
    size_t lit = token >> 4;
    if (lit == 15 && more_len(&ip, iend, &lit)) return -1;
    if ((size_t)(iend - ip) < lit || (size_t)(oend - op) < lit) return -1;
    if (lit <= 16 && iend - ip >= 16) copy16(op, ip);
    else __builtin_memmove(op, ip, lit);
    ip += lit;
    op += lit;
    if (ip >= iend) break;  // the last sequence has literals only
    if (iend - ip < 2) return -1;
    size_t off = (size_t)ip[0] | ((size_t)ip[1] << 8);
    ip += 2;
    if (off == 0 || off > (size_t)(op - start)) return -1;
    size_t len = token & 15;
    if (len == 15 && more_len(&ip, iend, &len)) return -1;
    len += 4;
    if ((size_t)(oend - op) < len) return -1;
    const u8* m = op - off;
    u8* const stop = op + len;
    if (off >= 16) {
      // 16 bytes at a time; the last copy may run up to 15 bytes on.
      do {
        copy16(op, m);
        op += 16;
        m += 16;
      } while (op < stop);
    } else {
      // A period shorter than 16 bytes: its bytes spread over 16 (one
      // swizzle of the bytes at m, of which only the first `off` are read
      // as written), stored a whole number of periods apart. Short matches
      // (8-10 bytes, most of them at small offsets, are the sequences of
      // mostly-zero float columns) take one store.
      v16 pat = (v16)__builtin_wasm_swizzle_i8x16((i8v16)*(const v16*)m, PERIOD[off]);
      const size_t step = STEP[off];
      do {
        *(v16*)op = pat;
        op += step;
      } while (op < stop);
    }
    op = stop;
  }
  return (int)(op - start);
}

/** Blosc's byte shuffle undone: `size` bytes of `s` (element bytes by stream) into `d`. */
static void unshuffle(u32 typesize, size_t size, const u8* s, u8* d, size_t count) {
  size_t n = size / typesize, i = 0;
  if (count > n) count = n;
  if (typesize == 2) {
    for (; i + 16 <= count; i += 16) {
      v16 a = *(const v16*)(s + i), b = *(const v16*)(s + n + i);
      u8* o = d + 2 * i;
      *(v16*)o = __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      *(v16*)(o + 16) = __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29,
                                                14, 30, 15, 31);
    }
  } else if (typesize == 4) {
    for (; i + 16 <= count; i += 16) {
      v16 a = *(const v16*)(s + i), b = *(const v16*)(s + n + i);
      v16 c = *(const v16*)(s + 2 * n + i), e = *(const v16*)(s + 3 * n + i);
      v16 ab0 = __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      v16 ab1 = __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30,
                                        15, 31);
      v16 ce0 = __builtin_shufflevector(c, e, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      v16 ce1 = __builtin_shufflevector(c, e, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30,
                                        15, 31);
      u8* o = d + 4 * i;
      *(v16*)o = __builtin_shufflevector(ab0, ce0, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7,
                                         22, 23);
      *(v16*)(o + 16) = __builtin_shufflevector(ab0, ce0, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28,
                                                29, 14, 15, 30, 31);
      *(v16*)(o + 32) = __builtin_shufflevector(ab1, ce1, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21,
                                                6, 7, 22, 23);
      *(v16*)(o + 48) = __builtin_shufflevector(ab1, ce1, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28,
                                                29, 14, 15, 30, 31);
    }
  } else if (typesize == 8) {
    for (; i + 16 <= count; i += 16) {
      v16 x[8];
      for (int j = 0; j < 8; j++) x[j] = *(const v16*)(s + j * n + i);
      // Bytes, then pairs, then quads interleaved: element k's 8 bytes together.
      v16 p[8], q[8];
      for (int j = 0; j < 4; j++) {
        p[2 * j] = __builtin_shufflevector(x[2 * j], x[2 * j + 1], 0, 16, 1, 17, 2, 18, 3, 19, 4,
                                           20, 5, 21, 6, 22, 7, 23);
        p[2 * j + 1] = __builtin_shufflevector(x[2 * j], x[2 * j + 1], 8, 24, 9, 25, 10, 26, 11,
                                               27, 12, 28, 13, 29, 14, 30, 15, 31);
      }
      for (int j = 0; j < 2; j++) {
        for (int h = 0; h < 2; h++) {
          v16 lo = p[4 * j + h], hi = p[4 * j + 2 + h];
          q[4 * j + 2 * h] = __builtin_shufflevector(lo, hi, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20,
                                                     21, 6, 7, 22, 23);
          q[4 * j + 2 * h + 1] = __builtin_shufflevector(lo, hi, 8, 9, 24, 25, 10, 11, 26, 27, 12,
                                                         13, 28, 29, 14, 15, 30, 31);
        }
      }
      // q[0..3]: bytes 0-3 of elements 0-3, 4-7, 8-11, 12-15; q[4..7]: bytes 4-7.
      u8* o = d + 8 * i;
      for (int k = 0; k < 4; k++) {
        v16 lo = q[k], hi = q[4 + k];
        *(v16*)(o + 32 * k) = __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6,
                                                      7, 20, 21, 22, 23);
        *(v16*)(o + 32 * k + 16) = __builtin_shufflevector(lo, hi, 8, 9, 10, 11, 24, 25, 26, 27, 12,
                                                           13, 14, 15, 28, 29, 30, 31);
      }
    }
  }
  for (; i < count; i++) {
    for (u32 j = 0; j < typesize; j++) d[i * typesize + j] = s[j * n + i];
  }
  if (count < n) return;  // the first `count` elements alone
  size_t whole = n * typesize;
  for (size_t k = whole; k < size; k++) d[k] = s[k];
}

#include "zstd_frame.c"

/**
 * Decode blocks `first`..`last - 1` of the LZ4 (or zstd) blocks of the blosc chunk at
 * `src` (`srcLen` bytes, header checked by the caller) into their place in `out`
 * (`nbytes`), through `tmp` when shuffled; the other blocks' bytes are left as they
 * are. `upto` (0: all): only each block's first `upto` bytes are wanted, so LZ4
 * streams stop once they hold what those need (past them, the bytes are whatever
 * the memory held). 0, or -1 with err_block/err_kind set.
 */
static int decode_range(const u8* src, u32 srcLen, u8* out, u32 nbytes, u32 blocksize,
                        u32 typesize, u32 flags, u8* tmp, u32 first, u32 last, u32 upto) {
  const u8* const end = src + srcLen;
  u32 nblocks = (nbytes + blocksize - 1) / blocksize;
  u32 starts = 16 + 4 * nblocks;
  int shuffled = (flags & SHUFFLE) && typesize > 1;
  int zstd_streams = (flags >> 5) == 4;  // else LZ4
  if (last > nblocks) last = nblocks;
  for (u32 b = first; b < last; b++) {
    int leftover = b == nblocks - 1 && nbytes % blocksize != 0;
    u32 bsize = leftover ? nbytes % blocksize : blocksize;
    u32 at = rd32(src + 16 + 4 * b);
    if (at < starts || at >= srcLen) return fail(b, E_BLOCK_START);
    const u8* ip = src + at;
    int split = !(flags & DONT_SPLIT) && typesize <= MAX_SPLITS &&
                bsize / typesize >= MIN_BUFFERSIZE && !leftover;
    u32 nsplits = split ? typesize : 1;
    if (bsize % nsplits != 0) return fail(b, E_SPLIT);
    u32 neblock = bsize / nsplits;
    // The bytes of the block wanted from its start, and the elements they hold.
    u32 need = upto && upto < bsize ? upto : bsize;
    u32 elems = (need + typesize - 1) / typesize;
    u8* op = shuffled ? tmp : out + (size_t)b * blocksize;
    for (u32 s = 0; s < nsplits; s++) {
      if (end - ip < 4) return fail(b, E_PAST_END);
      int cb = (int)rd32(ip);
      ip += 4;
      if (cb < 0 || end - ip < cb) return fail(b, E_PAST_END);
      // This stream's bytes wanted: shuffled and split, each stream holds one byte of
      // every element; split alone, the streams are the block's parts in order.
      u32 want = neblock;
      if (need < bsize && shuffled && split) want = elems < neblock ? elems : neblock;
      else if (need < bsize && !shuffled) {
        u32 lo = s * neblock;
        want = need <= lo ? 0 : (need - lo < neblock ? need - lo : neblock);
      }
      if (want == 0) {
      } else if ((u32)cb == neblock) __builtin_memcpy(op, ip, neblock);
      else if (zstd_streams) {
        if (zstd(ip, (u32)cb, op, neblock) != (int)neblock) return fail(b, E_ZSTD);
      } else {
        int got = lz4_block(ip, ip + cb, op, op + neblock, want < neblock ? op + want : op + neblock + 1);
        if (want < neblock ? got < (int)want : got != (int)neblock) return fail(b, E_LZ4);
      }
      ip += cb;
      op += neblock;
    }
    if (shuffled) {
      unshuffle(typesize, bsize, tmp, out + (size_t)b * blocksize,
                need < bsize && split ? elems : bsize / typesize);
    }
  }
  return 0;
}

/** Every block of the chunk (see decode_range). */
__attribute__((export_name("decode"))) int decode(const u8* src, u32 srcLen, u8* out,
                                                  u32 nbytes, u32 blocksize, u32 typesize,
                                                  u32 flags, u8* tmp) {
  return decode_range(src, srcLen, out, nbytes, blocksize, typesize, flags, tmp, 0,
                      (nbytes + blocksize - 1) / blocksize, 0);
}

/** Block `b` alone, its first `upto` bytes (0: all of it; see decode_range). */
__attribute__((export_name("decode_block"))) int decode_block(const u8* src, u32 srcLen, u8* out,
                                                              u32 nbytes, u32 blocksize,
                                                              u32 typesize, u32 flags, u8* tmp,
                                                              u32 b, u32 upto) {
  return decode_range(src, srcLen, out, nbytes, blocksize, typesize, flags, tmp, b, b + 1, upto);
}

/** The last failure: its block times 8 plus its kind. */
__attribute__((export_name("error"))) double error(void) { return (double)err_block * 8 + err_kind; }

extern u8 __heap_base;
/** Where the caller's buffers may start (after the stack and globals). */
__attribute__((export_name("heap"))) u32 heap(void) { return (u32)(size_t)&__heap_base; }

typedef u32 v4u __attribute__((vector_size(16), aligned(1)));

/**
 * The first of the `n` int32 values at `p` (little-endian, as sparse
 * indices are stored) outside [0, bound), or -1: compared as unsigned, a
 * negative value is past any bound. Checked where a chunk was decoded.
 */
__attribute__((export_name("below"))) int below(const u8* p, u32 n, u32 bound) {
  const v4u b = {bound, bound, bound, bound};
  u32 i = 0;
  for (; i + 16 <= n; i += 16) {
    const v4u* v = (const v4u*)(p + (size_t)i * 4);
    v4u bad = (v[0] >= b) | (v[1] >= b) | (v[2] >= b) | (v[3] >= b);
    if (bad[0] | bad[1] | bad[2] | bad[3]) break;  // found: the scalar loop says where
  }
  for (; i < n; i++) {
    if (rd32(p + (size_t)i * 4) >= bound) return (int)i;
  }
  return -1;
}

/** A back reference: `len` bytes from `back` bytes behind `op`, in steps no longer than the distance. */
static inline void lzf_ref(u8* op, size_t back, size_t len) {
  const u8* ref = op - back;
  // int32 data gives mostly 3-4 bytes 4, 8 or 12 bytes back: one step.
  if (back >= 8) {
    for (size_t k = 0; k < len; k += 8) *(u64*)(op + k) = *(const u64*)(ref + k);
  } else if (back >= 4) {
    for (size_t k = 0; k < len; k += 4) *(u32a*)(op + k) = *(const u32a*)(ref + k);
  } else {
    for (size_t k = 0; k < len; k++) op[k] = ref[k];
  }
}

/**
 * h5py's LZF filter (liblzf's format, no header): the chunk at `ip`
 * (`inLen` bytes) into `op` (`outLen` bytes, with SLACK writable bytes
 * after them; the input may be read up to 16 bytes past its end, inside
 * this memory). Control byte < 32: that many + 1 literal bytes follow;
 * else a back reference, length in the top 3 bits (7: plus the next byte)
 * + 2, distance in the low 5 bits and the next byte + 1. Returns the bytes
 * written, or -1 when the chunk is damaged (a reference before the start,
 * a literal or length past either end). With `stop` < `outLen`, decoding
 * ends at the first token that reaches `stop` bytes (a read that wants
 * only the chunk's first bytes): at least `stop` are then written, unless
 * the input ends first.
 */
__attribute__((export_name("lzf"))) int lzf(const u8* ip, u32 inLen, u8* op, u32 outLen,
                                            u32 stop) {
  const u8* const iend = ip + inLen;
  u8* const ostart = op;
  u8* const oend = op + outLen;
  // Past the end (never reached) when the whole chunk is wanted: its tail
  // is then checked to the last byte.
  u8* const ostop = stop < outLen ? op + stop : oend + 1;
  // Far from both ends no token can pass either (a literal reads at most 33
  // bytes and writes 32; a reference reads 3 and writes 264 plus a step):
  // only the distance is checked. 1.4x the checked loop on the atlases.
  while (iend - ip >= 40 && oend - op >= 272 && op < ostop) {
    size_t ctrl = *ip++;
    if (ctrl < 32) {
      copy16(op, ip);
      copy16(op + 16, ip + 16);
      ip += ctrl + 1;
      op += ctrl + 1;
      continue;
    }
    size_t len = ctrl >> 5;
    if (len == 7) len += *ip++;
    size_t back = ((ctrl & 0x1f) << 8) + *ip++ + 1;
    if (back > (size_t)(op - ostart)) return -1;
    lzf_ref(op, back, len + 2);
    op += len + 2;
  }
  while (ip < iend && op < ostop) {
    size_t ctrl = *ip++;
    if (ctrl < 32) {
      ctrl++;
      if ((size_t)(oend - op) < ctrl || (size_t)(iend - ip) < ctrl) return -1;
      // At most 32 bytes: two 16-byte copies, the excess written again later.
      copy16(op, ip);
      if (ctrl > 16) copy16(op + 16, ip + 16);
      ip += ctrl;
      op += ctrl;
      continue;
    }
    size_t len = ctrl >> 5;
    if (len == 7) {
      if (ip >= iend) return -1;
      len += *ip++;
    }
    if (ip >= iend) return -1;
    size_t back = ((ctrl & 0x1f) << 8) + *ip++ + 1;
    len += 2;
    if (back > (size_t)(op - ostart) || (size_t)(oend - op) < len) return -1;
    lzf_ref(op, back, len);
    op += len;
  }
  return (int)(op - ostart);
}
