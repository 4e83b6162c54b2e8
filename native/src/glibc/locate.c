/*
 * locate.c - finding glibc malloc's state (main_arena, mp_, global_max_fast,
 * and the thread-pointer offset of the TLS variable tcache) in a target: the
 * executable's symbols (a static link), libc's debug file, the table of known
 * stripped builds keyed by build-id, the code of libc's own exported
 * functions, and last the heap itself (fromheap.c).  mp_ and main_arena are
 * checked against each other before use.  MEMDBG_GLIBC_SOURCE=heap skips the
 * first four (a test of the last resort on a target where they would work).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/alloc.h"
#include "glibc/gl.h"
#include "glibc/gl_table.h"

#define CODE_BYTES 0x180

static const char *const sym_names[GL_NSYMS] = {
	[GL_SYM_MAIN_ARENA] = "main_arena",
	[GL_SYM_MP] = "mp_",
	[GL_SYM_TCACHE_SLOT] = NULL,  /* a GOT slot, not a symbol */
	[GL_SYM_MAX_FAST] = "global_max_fast",
};

void gl_problem(struct gl_heap *h, const char *fmt, ...)
{
	if (h->nproblems == GL_MAX_PROBLEMS) {
		h->more_problems++;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->problems[h->nproblems++], sizeof(h->problems[0]), fmt, ap);
	va_end(ap);
}

/* "GNU C Library (Debian GLIBC 2.36-9+deb12u14) stable release version 2.36." gives 2.36. */
static void read_version(const char *path, struct gl_heap *h)
{
	snprintf(h->version, sizeof(h->version), "unknown");
	if (!alloc_find_string(path, "GNU C Library ", h->release, sizeof(h->release)))
		return;
	const char *v = strstr(h->release, "release version ");
	if (v) {
		v += strlen("release version ");
		size_t n = strspn(v, "0123456789.");
		while (n && v[n - 1] == '.')
			n--;
		snprintf(h->version, sizeof(h->version), "%.*s", (int)n, v);
	}
}

/* The layout of a version, and whether its links are safe-linked (2.32+). */
static const struct gl_layout *layout_for(const char *version, bool *safe_linking)
{
	unsigned major, minor;
	if (sscanf(version, "%u.%u", &major, &minor) != 2 || major != 2 || minor < 31 || minor > 41)
		return NULL;
	*safe_linking = minor >= 32;
	return minor >= 37 ? &gl_layout_2_37 : minor >= 35 ? &gl_layout_2_35 : &gl_layout_2_31;
}

/* One RIP-relative instruction: REX (optional), opcode, ModRM 00 reg 101, disp32. */
struct rip_ref {
	uint64_t target;
	size_t end;  /* offset of the next instruction */
	bool wide;   /* REX.W */
};

/* The RIP-relative instructions with this opcode in the code at pc, in order. */
static size_t rip_refs(const uint8_t *code, size_t n, uint64_t pc, uint8_t opcode, struct rip_ref *out, size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i + 6 <= n && k < max; i++) {
		bool rex = (code[i] & 0xf0) == 0x40;
		size_t o = i + rex;
		if (o + 6 > n || code[o] != opcode || (code[o + 1] & 0xc7) != 0x05)
			continue;
		int32_t disp;
		memcpy(&disp, code + o + 2, 4);
		out[k++] = (struct rip_ref){ pc + o + 6 + (uint64_t)(int64_t)disp, o + 6, rex && (code[i] & 8) };
		i = o + 5;
	}
	return k;
}

static bool read_code(struct memdbg_target *t, const struct alloc_lib *lib, const char *fn, uint64_t *pc,
		      uint8_t *code)
{
	uint64_t rva;
	if (!alloc_dynsym(lib->path, fn, &rva))
		return false;
	*pc = lib->base + rva;
	return alloc_read(t, *pc, code, CODE_BYTES);
}

/* main_arena: mallinfo2's and malloc_trim's first `lea main_arena(%rip)` (both walk the arenas from it). */
static bool main_arena_from_code(struct memdbg_target *t, const struct alloc_lib *lib, uint64_t *ret)
{
	uint8_t code[CODE_BYTES];
	uint64_t pc, found[2];
	const char *fns[2] = { "mallinfo2", "malloc_trim" };
	for (int f = 0; f < 2; f++) {
		struct rip_ref r;
		if (!read_code(t, lib, fns[f], &pc, code) || rip_refs(code, sizeof(code), pc, 0x8d, &r, 1) != 1 || !r.wide)
			return false;
		found[f] = r.target;
	}
	*ret = found[0];
	return found[0] == found[1];
}

/*
 * mp_: malloc_stats starts from mp_.mmapped_mem (its first 64-bit load) and
 * ends with mp_.max_n_mmaps (32-bit) and mp_.max_mmapped_mem; all three must
 * sit where the layout says.
 */
static bool mp_from_code(struct memdbg_target *t, const struct alloc_lib *lib, const struct gl_layout *l,
			 uint64_t *ret)
{
	uint8_t code[CODE_BYTES * 2];
	uint64_t rva, pc;
	struct rip_ref r[32];
	if (!alloc_dynsym(lib->path, "malloc_stats", &rva) || !alloc_read(t, pc = lib->base + rva, code, sizeof(code)))
		return false;
	size_t n = rip_refs(code, sizeof(code), pc, 0x8b, r, 32);
	uint64_t mp = 0;
	bool max_n = false, max_mem = false;
	for (size_t i = 0; i < n; i++) {
		if (!mp && r[i].wide)
			mp = r[i].target - l->mp_mmapped_mem;
		else if (mp && !r[i].wide && r[i].target == mp + l->mp_max_n_mmaps)
			max_n = true;
		else if (mp && r[i].wide && r[i].target == mp + l->mp_max_mmapped_mem)
			max_mem = true;
	}
	*ret = mp;
	return mp && max_n && max_mem;
}

/*
 * The GOT slot of tcache's thread-pointer offset: malloc's fast path loads it
 * (`mov SLOT(%rip),%reg`) and reads `%fs:(%reg)` right after.
 */
static bool tcache_slot_from_code(struct memdbg_target *t, const struct alloc_lib *lib, uint64_t *ret)
{
	uint8_t code[CODE_BYTES];
	uint64_t pc;
	struct rip_ref r[16];
	if (!read_code(t, lib, "malloc", &pc, code))
		return false;
	size_t n = rip_refs(code, sizeof(code), pc, 0x8b, r, 16);
	for (size_t i = 0; i < n; i++)
		if (r[i].wide && r[i].end < sizeof(code) && code[r[i].end] == 0x64) {
			*ret = r[i].target;
			return true;
		}
	return false;
}

/*
 * global_max_fast: mallopt's one store of its size (64-bit, or a byte from
 * 2.37) outside mp_ and main_arena (M_MXFAST).
 */
static bool max_fast_from_code(struct memdbg_target *t, const struct alloc_lib *lib, const struct gl_heap *h,
			       uint64_t *ret)
{
	uint8_t code[CODE_BYTES * 2];
	uint64_t rva, pc;
	struct rip_ref r[32];
	if (!alloc_dynsym(lib->path, "mallopt", &rva) || !alloc_read(t, pc = lib->base + rva, code, sizeof(code)))
		return false;
	bool byte = h->l->max_fast_size == 1;
	size_t n = rip_refs(code, sizeof(code), pc, byte ? 0x88 : 0x89, r, 32);
	uint64_t mp = h->sym[GL_SYM_MP], arena = h->sym[GL_SYM_MAIN_ARENA], found = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t a = r[i].target;
		if (r[i].wide == byte || (a >= mp && a < mp + h->l->mp_size) || (a >= arena && a < arena + h->l->arena_size))
			continue;
		if (found && found != a)
			return false;
		found = a;
	}
	*ret = found;
	return found != 0;
}

static const struct gl_build *known_build(const char *build_id)
{
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(gl_builds); i++)
		if (strcmp(gl_builds[i].build_id, build_id) == 0)
			return &gl_builds[i];
	return NULL;
}

/* MEMDBG_GLIBC_SOURCE=heap: glibc's state from the heap even where symbols, the table or the code would give it. */
static struct memdbg_error *heap_forced(bool *forced)
{
	const char *v = getenv("MEMDBG_GLIBC_SOURCE");
	*forced = v && *v;
	if (*forced && strcmp(v, "heap") != 0)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT,
					   "MEMDBG_GLIBC_SOURCE is \"%.64s\": the one value it takes is heap", v);
	return NULL;
}

static struct memdbg_error *symbols_from_lib(struct memdbg_target *t, struct gl_heap *h, bool heap_only, bool *found)
{
	struct alloc_lib lib;
	struct memdbg_error *err = alloc_lib_open(t, "libc.so.6", &lib, found);
	if (!err && !*found)  /* before 2.34 libc.so.6 is a link to libc-2.NN.so, the name mapped */
		err = alloc_lib_open(t, "libc-2.", &lib, found);
	if (err || !*found)
		return err;
	snprintf(h->where, sizeof(h->where), "%s", lib.path);
	snprintf(h->build_id, sizeof(h->build_id), "%s", lib.build_id);
	h->base = lib.base;
	read_version(lib.path, h);
	if (!(h->l = layout_for(h->version, &h->safe_linking))) {
		err = memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
					  "%s is glibc %s (build-id %s): memdbg knows the malloc of glibc 2.31-2.41 only",
					  lib.path, h->version, lib.build_id[0] ? lib.build_id : "none");
		alloc_lib_close(&lib);
		return err;
	}
	const struct gl_build *b;
	if (!heap_only && alloc_lib_symbol(&lib, sym_names[GL_SYM_MAIN_ARENA], &h->sym[GL_SYM_MAIN_ARENA]) &&
	    alloc_lib_symbol(&lib, sym_names[GL_SYM_MP], &h->sym[GL_SYM_MP])) {
		h->source = lib.debug ? "debug file symbols" : "symbol table";
		alloc_lib_symbol(&lib, sym_names[GL_SYM_MAX_FAST], &h->sym[GL_SYM_MAX_FAST]);
	} else if (!heap_only && (b = known_build(lib.build_id))) {
		h->source = "build-id table";
		for (int s = 0; s < GL_NSYMS; s++)
			h->sym[s] = lib.base + b->rva[s];
	} else if (!heap_only && main_arena_from_code(t, &lib, &h->sym[GL_SYM_MAIN_ARENA]) &&
		   mp_from_code(t, &lib, h->l, &h->sym[GL_SYM_MP])) {
		h->source = "code search (mallinfo2, malloc_stats)";
	} else {
		bool got;
		char why[256];
		memset(h->sym, 0, sizeof(h->sym));
		err = gl_locate_from_heap(t, h, &got, why, sizeof(why));
		if (!err && !got && heap_only)
			err = memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "MEMDBG_GLIBC_SOURCE=heap: the heap does not "
						  "reveal the state of %s's malloc: %s", lib.path, why);
		else if (!err && !got)
			err = memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
						  "%s (glibc %s, build-id %s) is not a known build, has no symbols, its "
						  "mallinfo2/malloc_stats code is not the expected one and its heap does not "
						  "reveal the state (%s): install its debug file as "
						  "/usr/lib/debug/.build-id/%.2s/%s.debug, or add it to the table with "
						  "setup/allocators/glibc-table.sh",
						  lib.path, h->version, lib.build_id[0] ? lib.build_id : "none", why,
						  lib.build_id[0] ? lib.build_id : "xx", lib.build_id[0] ? lib.build_id + 2 : "yy");
	}
	if (!err && !h->mp_defaults && !h->sym[GL_SYM_TCACHE_SLOT])
		tcache_slot_from_code(t, &lib, &h->sym[GL_SYM_TCACHE_SLOT]);
	if (!err && !h->mp_defaults && !h->sym[GL_SYM_MAX_FAST])
		max_fast_from_code(t, &lib, h, &h->sym[GL_SYM_MAX_FAST]);
	alloc_lib_close(&lib);
	return err;
}

/*
 * A static link: the executable's own symbols, and tcache's offset from the
 * thread pointer from its TLS symbol (the executable's TLS block ends at the
 * thread pointer).
 */
static struct memdbg_error *symbols_from_exe(struct memdbg_target *t, struct gl_heap *h)
{
	if (!alloc_exe_symbol(t, sym_names[GL_SYM_MP], &h->sym[GL_SYM_MP]))
		return memdbg_error_format(MEMDBG_ERROR_LOOKUP, "the executable links glibc statically but has no symbol mp_");
	alloc_exe_symbol(t, sym_names[GL_SYM_MAX_FAST], &h->sym[GL_SYM_MAX_FAST]);
	snprintf(h->where, sizeof(h->where), "%s (static)", t->exe_path);
	h->source = "symbol table";
	size_t len;
	const uint8_t *id = memdbg_elf_build_id(t->exe, &len);
	if (id && len <= 40)
		alloc_hex(h->build_id, id, len);
	read_version(t->exe_path, h);
	uint64_t value, size, mp_size = 0, max_fast_size = 0, tls_size, align;
	/*
	 * A static link rarely keeps the version string: mp_'s size tells 2.35+
	 * (huge page fields) apart, global_max_fast's 2.37+ (a uint8_t).
	 */
	if (strcmp(h->version, "unknown") == 0 && memdbg_elf_symbol(t->exe, "mp_", &value, &mp_size) &&
	    mp_size == gl_layout_2_35.mp_size) {
		memdbg_elf_symbol(t->exe, "global_max_fast", &value, &max_fast_size);
		bool newer = max_fast_size == gl_layout_2_37.max_fast_size;
		snprintf(h->version, sizeof(h->version), newer ? "2.37+" : "2.35-2.36");
		h->l = newer ? &gl_layout_2_37 : &gl_layout_2_35;
		h->safe_linking = true;
	} else if (!(h->l = layout_for(h->version, &h->safe_linking))) {
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s links glibc %s (mp_ of %" PRIu64 " bytes): memdbg "
					   "knows glibc 2.31-2.41 only", t->exe_path, h->version, mp_size);
	}
	/* Variant II TLS: the executable's block ends at the thread pointer, its size rounded to its alignment. */
	if (alloc_tls_segment(t->exe_path, &tls_size, &align) && memdbg_elf_symbol(t->exe, "tcache", &value, &size) &&
	    size == 8)
		h->tcache_tpoff = (int64_t)value - (int64_t)((tls_size + align - 1) / align * align);
	return NULL;
}

static struct memdbg_error *read_mp(struct memdbg_target *t, struct gl_heap *h)
{
	const struct gl_layout *l = h->l;
	uint8_t mp[256];
	struct memdbg_error *err;
	if (l->mp_size > sizeof(mp))
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "malloc_par of %" PRIu64 " bytes", l->mp_size);
	if ((err = memdbg_read(t, h->sym[GL_SYM_MP], mp, l->mp_size)))
		return memdbg_error_prefix(err, "reading glibc's mp_");
#define U64(f) memcpy(&h->f, mp + l->mp_##f, 8)
#define I32(f) memcpy(&h->f, mp + l->mp_##f, 4)
	U64(trim_threshold), U64(top_pad), U64(mmap_threshold), U64(arena_test), U64(arena_max), U64(mmapped_mem);
	U64(max_mmapped_mem), U64(sbrk_base), U64(tcache_bins), U64(tcache_max_bytes), U64(tcache_count);
	U64(tcache_unsorted_limit);
	I32(n_mmaps), I32(n_mmaps_max), I32(max_n_mmaps), I32(no_dyn_threshold);
#undef U64
#undef I32
	if (h->tcache_bins > GL_TCACHE_BINS || h->tcache_count > 65535 || h->n_mmaps < 0 || h->max_n_mmaps < h->n_mmaps ||
	    h->mmapped_mem > h->max_mmapped_mem || h->mmap_threshold > (64ull << 20))
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
					   "glibc's mp_ at 0x%" PRIx64 " in %s is inconsistent (tcache_bins %" PRIu64
					   ", n_mmaps %d, mmap_threshold %" PRIu64 "): wrong build table entry?",
					   h->sym[GL_SYM_MP], h->where, h->tcache_bins, h->n_mmaps, h->mmap_threshold);
	h->max_fast = 0;  /* a byte from 2.37 fills only the low byte (little-endian) */
	if (h->sym[GL_SYM_MAX_FAST] && (err = memdbg_read(t, h->sym[GL_SYM_MAX_FAST], &h->max_fast, l->max_fast_size)))
		return memdbg_error_prefix(err, "reading global_max_fast");
	if (h->max_fast > 0xb0)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "glibc's global_max_fast is %" PRIu64 ": wrong build table entry?",
					   h->max_fast);
	return NULL;
}

/* The GOT slot holds tcache's offset from the thread pointer, relocated at load (TPOFF64). */
static void read_tcache_offset(struct memdbg_target *t, struct gl_heap *h)
{
	uint64_t v;
	if (h->tcache_tpoff || !h->sym[GL_SYM_TCACHE_SLOT] || !alloc_read(t, h->sym[GL_SYM_TCACHE_SLOT], &v, 8))
		return;
	int64_t off = (int64_t)v;
	if (off < 0 && off > -(1 << 24) && off % 8 == 0)
		h->tcache_tpoff = off;
}

/*
 * A static link forced to the heap: the executable is where glibc is, its
 * version from its own string when it kept one (else the heap_info size).
 */
static struct memdbg_error *static_from_heap(struct memdbg_target *t, struct gl_heap *h)
{
	snprintf(h->where, sizeof(h->where), "%s (static)", t->exe_path);
	size_t len;
	const uint8_t *id = memdbg_elf_build_id(t->exe, &len);
	if (id && len <= 40)
		alloc_hex(h->build_id, id, len);
	read_version(t->exe_path, h);
	h->l = layout_for(h->version, &h->safe_linking);
	bool got;
	char why[256];
	struct memdbg_error *err = gl_locate_from_heap(t, h, &got, why, sizeof(why));
	if (!err && !got)
		err = memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "MEMDBG_GLIBC_SOURCE=heap: the heap does not reveal "
					  "the state of %s's malloc: %s", t->exe_path, why);
	return err;
}

struct memdbg_error *gl_locate(struct memdbg_target *t, struct gl_heap *h)
{
	struct memdbg_error *err;
	uint64_t addr;
	bool heap_only, found;
	if ((err = heap_forced(&heap_only)))
		return err;
	if (alloc_exe_symbol(t, sym_names[GL_SYM_MAIN_ARENA], &addr)) {
		if (heap_only) {
			err = static_from_heap(t, h);
		} else {
			h->sym[GL_SYM_MAIN_ARENA] = addr;
			err = symbols_from_exe(t, h);
		}
	} else {
		err = symbols_from_lib(t, h, heap_only, &found);
		if (!err && !found)
			return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
						   "no glibc malloc in this target: no libc.so.6 is mapped and the "
						   "executable has no main_arena symbol");
	}
	if (err || (!h->mp_defaults && (err = read_mp(t, h))))
		return err;
	read_tcache_offset(t, h);
	return NULL;
}
