/*
 * stripped.c - the Go runtime of an executable without symbols and DWARF.
 *
 * What the runtime itself carries stands in for them:
 *   version, build mode     the build info (.go.buildinfo, or found by its magic)
 *   functions by name       the pclntab (.gopclntab, or found by its magic)
 *   the module data         the target's data, by its pointers into the pclntab
 *   layouts and constants   layout_table.h, generated from each toolchain's DWARF
 *   the runtime's globals   the RIP-relative references in the code of runtime
 *                           functions (which function and which reference:
 *                           layout_table.h), each checked against what it holds
 *   named types (abi.Type)  the module's type descriptors, searched by name
 * It is all installed as t->dwarf (memdbg_dwarf_create_ops), so the decoders
 * ask the same questions with or without DWARF.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/stripped.h"
#include "go/layout_table.h"
#include "go/stack.h"

#define PCLN_MAGIC 0xfffffff1u   /* pcHeader.magic since go1.20 */
#define PCHEADER_SIZE 72
#define MAX_NFUNC (1u << 22)
#define MAX_FUNC_BYTES (1u << 20)
#define MAX_REFS 4096
#define MAX_NAME 256
#define SCAN_CHUNK (1u << 16)
#define MAX_GLOBALS 40
#define MAX_TYPE_NAMES 32

static const char buildinfo_magic[14] = "\xff Go buildinf:";

struct found {
	char name[64];
	uint64_t addr, size;  /* unrelocated, as DWARF and .symtab give them */
	char how[96];
};

struct type_name {
	char name[MAX_NAME];
	uint64_t off;  /* from moduledata.types; 0: none */
};

struct go_stripped {
	struct memdbg_target *t;
	char version[64], buildmode[16];
	uint32_t mask;           /* the table configuration's bit */
	char layouts[128];
	/* the pclntab, from the executable file */
	uint64_t pcln;           /* unrelocated */
	const uint8_t *pcln_bytes;
	uint64_t pcln_avail, nfunc, funcname_off, pcln_off;
	char pcln_how[64], md_how[64], bi_how[64];
	/* the module data, in the target */
	uint64_t md, text, etext, types, etypes;
	struct { const char *name; uint64_t lo, hi; } sections[4];
	struct found globals[MAX_GLOBALS];
	size_t nglobals;
	struct type_name tnames[MAX_TYPE_NAMES];
	size_t ntnames;
	/* the pointer words of the data and bss the program's code gives a type (go_stripped_global_types) */
	struct go_global_store *gstores;
	size_t ngstores;
	bool gstores_done;
	/* and the stack slots (go_stripped_local_types) */
	struct go_local_store *lstores;
	size_t nlstores;
	bool lstores_done;
	/* the heap closures' context types (go_stripped_closure_types), by entry */
	struct go_closure_type *closures;
	size_t nclosures;
	/* the receivers of method frames (go_stripped_receiver), by entry */
	struct go_map receivers;
	/* the functions every call of which passes a typed value in an argument register, by entry */
	struct arg_site *args;
	size_t nargs;
};

/* ---- the layout table ---- */

static int row_key_cmp(char kind, const char *name, const char *path, const struct go_table_row *r)
{
	if (kind != r->kind)
		return kind < r->kind ? -1 : 1;
	int c = strcmp(name, r->name);
	return c ? c : strcmp(path, r->path);
}

/* The row of kind/name/path for this configuration (rows are sorted by kind, name, path). */
static const struct go_table_row *row_find(const struct go_stripped *st, char kind, const char *name, const char *path)
{
	size_t lo = 0, hi = MEMDBG_ARRAY_SIZE(go_table_rows);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (row_key_cmp(kind, name, path, &go_table_rows[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < MEMDBG_ARRAY_SIZE(go_table_rows) && !row_key_cmp(kind, name, path, &go_table_rows[lo]); lo++)
		if (go_table_rows[lo].configs & st->mask)
			return &go_table_rows[lo];
	return NULL;
}

static bool op_member(void *arg, const char *type, const char *path, uint64_t *offset, uint64_t *size)
{
	const struct go_table_row *r = row_find(arg, GO_ROW_MEMBER, type, path);
	if (!r || (size && r->size == UINT64_MAX))  /* as DWARF: a member whose size it does not give */
		return false;
	*offset = (uint64_t)r->value;
	if (size)
		*size = r->size;
	return true;
}

static bool op_type_size(void *arg, const char *type, uint64_t *size)
{
	const struct go_table_row *r = row_find(arg, GO_ROW_SIZE, type, "");
	if (r)
		*size = r->size;
	return r != NULL;
}

static bool op_constant(void *arg, const char *name, int64_t *value)
{
	const struct go_table_row *r = row_find(arg, GO_ROW_CONST, name, "");
	if (r)
		*value = r->value;
	return r != NULL;
}

static uint64_t member_or(struct go_stripped *st, const char *type, const char *path, uint64_t def)
{
	uint64_t off;
	return op_member(st, type, path, &off, NULL) ? off : def;
}

/* ---- reading ---- */

static uint64_t read_word(struct memdbg_target *t, uint64_t addr, bool *ok)
{
	uint64_t v = 0;
	struct memdbg_error *err = memdbg_read_u64(t, addr, &v);
	if (err) {
		memdbg_error_destroy(err);
		*ok = false;
	}
	return v;
}

/* n bytes of the executable file at unrelocated addr, or NULL. */
static const uint8_t *file_bytes(struct go_stripped *st, uint64_t addr, uint64_t n)
{
	uint64_t avail;
	const uint8_t *p = memdbg_elf_file_bytes(st->t->exe, addr, &avail);
	return p && avail >= n ? p : NULL;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* ---- build info ---- */

static bool uvarint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* The value of "build\tKEY=value" in the module info, into out. */
static void build_setting(const uint8_t *mod, uint64_t len, const char *key, char *out, size_t cap)
{
	char pat[64];
	int n = snprintf(pat, sizeof(pat), "\nbuild\t%s=", key);
	for (uint64_t i = 0; n > 0 && i + (uint64_t)n <= len; i++) {
		if (memcmp(mod + i, pat, (size_t)n) != 0)
			continue;
		size_t k = 0;
		for (uint64_t j = i + (uint64_t)n; j < len && mod[j] != '\n' && k + 1 < cap; j++)
			out[k++] = (char)mod[j];
		out[k] = '\0';
		return;
	}
}

/* The build info (go1.18+): magic, pointer size, flags (2: inline strings), at 32 the version and module info. */
static bool parse_buildinfo(struct go_stripped *st, uint64_t addr)
{
	const uint8_t *p = file_bytes(st, addr, 32);
	uint64_t avail;
	if (!p || memcmp(p, buildinfo_magic, sizeof(buildinfo_magic)) != 0 || p[14] != 8 || !(p[15] & 2))
		return false;
	memdbg_elf_file_bytes(st->t->exe, addr, &avail);
	const uint8_t *q = p + 32, *end = p + (avail < 65536 ? avail : 65536);
	uint64_t vlen, mlen;
	if (!uvarint(&q, end, &vlen) || vlen == 0 || vlen >= sizeof(st->version) || (uint64_t)(end - q) < vlen)
		return false;
	memcpy(st->version, q, vlen);
	st->version[vlen] = '\0';
	q += vlen;
	snprintf(st->buildmode, sizeof(st->buildmode), "exe");
	if (uvarint(&q, end, &mlen) && (uint64_t)(end - q) >= mlen)
		build_setting(q, mlen, "-buildmode", st->buildmode, sizeof(st->buildmode));
	return true;
}

/* Each 16-byte aligned candidate of the loaded, file-backed bytes, until found returns true. */
static bool scan_file(struct go_stripped *st, bool writable_only, size_t align,
		      bool (*found)(struct go_stripped *st, uint64_t addr, const uint8_t *p, uint64_t avail))
{
	struct memdbg_elf *e = st->t->exe;
	for (size_t i = 0; i < memdbg_elf_load_count(e); i++) {
		uint64_t lo, memsz, avail;
		bool w;
		memdbg_elf_load_at(e, i, &lo, &memsz, &w);
		const uint8_t *p = memdbg_elf_file_bytes(e, lo, &avail);
		if (!p || (writable_only && !w))
			continue;
		for (uint64_t off = 0; off + 16 <= avail; off += align)
			if (found(st, lo + off, p + off, avail - off))
				return true;
	}
	return false;
}

static bool buildinfo_at(struct go_stripped *st, uint64_t addr, const uint8_t *p, uint64_t avail)
{
	return p[0] == 0xff && memcmp(p, buildinfo_magic, sizeof(buildinfo_magic)) == 0 && parse_buildinfo(st, addr);
}

static bool find_buildinfo(struct go_stripped *st)
{
	uint64_t addr, size;
	if (memdbg_elf_section(st->t->exe, ".go.buildinfo", &addr, &size) && parse_buildinfo(st, addr)) {
		snprintf(st->bi_how, sizeof(st->bi_how), "section .go.buildinfo");
		return true;
	}
	if (scan_file(st, true, 16, buildinfo_at)) {
		snprintf(st->bi_how, sizeof(st->bi_how), "its magic");
		return true;
	}
	return false;
}

/* ---- the pclntab ---- */

/*
 * pcHeader (go1.20+): magic, pad, pad, minLC, ptrSize, nfunc, nfiles,
 * textStart, then the offsets of funcnametab, cutab, filetab, pctab and
 * pclntab, all inside the table and in that order.
 */
static bool pcheader_at(struct go_stripped *st, uint64_t addr, const uint8_t *p, uint64_t avail)
{
	if (avail < PCHEADER_SIZE || le32(p) != PCLN_MAGIC || p[4] || p[5] || p[6] != 1 || p[7] != 8)
		return false;
	uint64_t nfunc = le64(p + 8), prev = PCHEADER_SIZE - 1;
	for (int i = 0; i < 5; i++) {
		uint64_t off = le64(p + 32 + 8 * i);
		if (off <= prev || off >= avail)
			return false;
		prev = off;
	}
	uint64_t pcln_off = le64(p + 64);
	if (nfunc == 0 || nfunc > MAX_NFUNC || (nfunc + 1) * 8 > avail - pcln_off)
		return false;
	/* The function table: entry offsets ascend, every _func lies inside. */
	const uint8_t *ftab = p + pcln_off;
	for (uint64_t i = 0; i < nfunc; i += nfunc / 16 + 1)
		if (le32(ftab + 8 * i) > le32(ftab + 8 * nfunc) || le32(ftab + 8 * i + 4) >= avail - pcln_off)
			return false;
	st->pcln = addr;
	st->pcln_bytes = p;
	st->pcln_avail = avail;
	st->nfunc = nfunc;
	st->funcname_off = le64(p + 32);
	st->pcln_off = pcln_off;
	return true;
}

static bool find_pclntab(struct go_stripped *st)
{
	static const char *const sections[] = { ".gopclntab", ".data.rel.ro.gopclntab" };
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(sections); i++) {
		uint64_t addr, size, avail;
		const uint8_t *p;
		if (memdbg_elf_section(st->t->exe, sections[i], &addr, &size) &&
		    (p = memdbg_elf_file_bytes(st->t->exe, addr, &avail)) && pcheader_at(st, addr, p, avail)) {
			snprintf(st->pcln_how, sizeof(st->pcln_how), "section %s", sections[i]);
			return true;
		}
	}
	if (scan_file(st, false, 8, pcheader_at)) {
		snprintf(st->pcln_how, sizeof(st->pcln_how), "its magic");
		return true;
	}
	return false;
}

/* The name of function i of the function table, or NULL. */
static const char *func_name(const struct go_stripped *st, uint64_t i, uint32_t *entryoff, uint32_t *endoff)
{
	const uint8_t *ftab = st->pcln_bytes + st->pcln_off;
	uint64_t funcoff = le32(ftab + 8 * i + 4);
	if (st->pcln_off + funcoff + 8 > st->pcln_avail)
		return NULL;
	int32_t nameoff = (int32_t)le32(ftab + funcoff + 4);
	uint64_t at = st->funcname_off + (uint64_t)nameoff;
	if (nameoff < 0 || at >= st->pcln_avail || !memchr(st->pcln_bytes + at, 0, st->pcln_avail - at))
		return NULL;
	*entryoff = le32(ftab + 8 * i);
	*endoff = le32(ftab + 8 * (i + 1));
	return (const char *)st->pcln_bytes + at;
}

/* [entry, end) of the function of that name, as target addresses. */
static bool find_func(const struct go_stripped *st, const char *name, uint64_t *entry, uint64_t *end)
{
	for (uint64_t i = 0; i < st->nfunc; i++) {
		uint32_t lo, hi;
		const char *n = func_name(st, i, &lo, &hi);
		if (n && strcmp(n, name) == 0 && hi > lo) {
			*entry = st->text + lo;
			*end = st->text + hi;
			return true;
		}
	}
	return false;
}

/* The function containing the target address pc, or NULL. */
static const char *func_at(const struct go_stripped *st, uint64_t pc, uint64_t *off)
{
	if (pc < st->text)
		return NULL;
	const uint8_t *ftab = st->pcln_bytes + st->pcln_off;
	uint64_t rel = pc - st->text, lo = 0, hi = st->nfunc;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (le32(ftab + 8 * mid) <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint32_t entry, end;
	const char *name = lo ? func_name(st, lo - 1, &entry, &end) : NULL;
	if (!name || rel >= end)
		return NULL;
	*off = rel - entry;
	return name;
}

/* ---- the module data ---- */

/* firstmoduledata begins pcHeader, funcnametab, cutab, filetab, pctab, pclntable, ftab: all into the pclntab. */
static bool moduledata_at(struct go_stripped *st, const uint64_t *w, uint64_t nwords)
{
	static const char *const slices[] = { "funcnametab", "cutab", "filetab", "pctab", "pclntable", "ftab" };
	uint64_t bias = st->t->bias, hdr = member_or(st, "runtime.moduledata", "pcHeader", 0);
	if (hdr + 8 > nwords * 8 || w[hdr / 8] != st->pcln + bias)
		return false;
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(slices); i++) {
		uint64_t off;
		if (!op_member(st, "runtime.moduledata", slices[i], &off, NULL) || off + 24 > nwords * 8)
			return false;
		uint64_t want = st->pcln + bias + le64(st->pcln_bytes + 32 + 8 * (i < 5 ? i : 4));
		if (w[off / 8] != want || w[off / 8 + 1] > w[off / 8 + 2])
			return false;
	}
	return true;
}

#define MD_WORDS 128  /* moduledata is smaller than 1 KiB in go1.22-1.26 */

static bool scan_moduledata(struct go_stripped *st, uint64_t lo, uint64_t hi)
{
	uint64_t *buf = malloc(SCAN_CHUNK + MD_WORDS * 8);
	if (!buf)
		return false;
	bool found = false;
	for (uint64_t a = lo; a < hi && !found; a += SCAN_CHUNK) {
		uint64_t n = hi - a < SCAN_CHUNK ? hi - a : SCAN_CHUNK;
		uint64_t len = n + MD_WORDS * 8;
		struct memdbg_error *err = memdbg_read(st->t, a, buf, len);
		if (err) {
			memdbg_error_destroy(err);
			len = n;
			if ((err = memdbg_read(st->t, a, buf, len))) {
				memdbg_error_destroy(err);
				continue;
			}
		}
		for (uint64_t k = 0; k < n / 8 && !found; k++)
			if (buf[k] == st->pcln + st->t->bias && moduledata_at(st, buf + k, len / 8 - k)) {
				st->md = a + 8 * k;
				found = true;
			}
	}
	free(buf);
	return found;
}

static bool find_moduledata(struct go_stripped *st)
{
	uint64_t addr, size;
	struct memdbg_elf *e = st->t->exe;
	/* go1.26 gives it a section of its own. */
	if (memdbg_elf_section(e, ".go.module", &addr, &size) && scan_moduledata(st, addr + st->t->bias,
										 addr + size + st->t->bias)) {
		snprintf(st->md_how, sizeof(st->md_how), "section .go.module");
		return true;
	}
	for (size_t i = 0; i < memdbg_elf_load_count(e); i++) {
		bool w;
		if (memdbg_elf_load_at(e, i, &addr, &size, &w) && w &&
		    scan_moduledata(st, addr + st->t->bias, addr + size + st->t->bias)) {
			snprintf(st->md_how, sizeof(st->md_how), "pointers to the pclntab in the data");
			return true;
		}
	}
	return false;
}

static struct memdbg_error *read_moduledata(struct go_stripped *st)
{
	static const char *const names[] = { "data", "bss", "noptrdata", "noptrbss" };
	struct memdbg_target *t = st->t;
	bool ok = true;
	uint64_t off;
#define MD(field) (op_member(st, "runtime.moduledata", field, &off, NULL) ? read_word(t, st->md + off, &ok) : (ok = false, 0))
	st->text = MD("text");
	st->etext = MD("etext");
	st->types = MD("types");
	st->etypes = MD("etypes");
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(names); i++) {
		char end[16];
		snprintf(end, sizeof(end), "e%s", names[i]);
		st->sections[i].name = names[i];
		st->sections[i].lo = MD(names[i]);
		st->sections[i].hi = MD(end);
	}
#undef MD
	if (!ok || st->etypes < st->types || st->text == 0)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "%s: the module data at 0x%" PRIx64 " is unreadable or "
					   "inconsistent", st->version, st->md);
	return NULL;
}

/* ---- globals from the runtime's code ---- */

static bool read_slice(struct memdbg_target *t, uint64_t addr, uint64_t *array, uint64_t *len)
{
	struct memdbg_error *err = go_read_slice(t, addr, array, len);
	memdbg_error_destroy(err);
	return !err;
}

static bool in_sections(const struct go_stripped *st, uint64_t addr)
{
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(st->sections); i++)
		if (addr >= st->sections[i].lo && addr < st->sections[i].hi)
			return true;
	return false;
}

static bool found_addr(const struct go_stripped *st, const char *name, uint64_t *addr)
{
	for (size_t i = 0; i < st->nglobals; i++)
		if (strcmp(st->globals[i].name, name) == 0) {
			*addr = st->globals[i].addr + st->t->bias;
			return true;
		}
	return false;
}

/* The checks below take target addresses and the layouts of the table. */

static bool check_any(struct go_stripped *st, uint64_t addr)
{
	return true;
}

/* An mheap whose span list is readable and whose first span lies in one of its arenas. */
static bool check_mheap(struct go_stripped *st, uint64_t addr)
{
	struct memdbg_target *t = st->t;
	uint64_t spans, nspans, arenas, narenas, list, base, bytes, start, npages;
	int64_t v;
	bool ok = true;
	if ((!op_member(st, "runtime.mheap", "heapArenas", &list, NULL) &&
	     !op_member(st, "runtime.mheap", "allArenas", &list, NULL)) ||
	    !read_slice(t, addr + member_or(st, "runtime.mheap", "allspans", 0), &spans, &nspans) ||
	    !read_slice(t, addr + list, &arenas, &narenas) || !nspans || nspans > (1u << 26) || !narenas ||
	    narenas > GO_MAX_ARENAS || !op_constant(st, "runtime.heapArenaBytes", &v) || v <= 0)
		return false;
	bytes = (uint64_t)v;
	base = op_constant(st, "runtime.arenaBaseOffsetUintptr", &v) ? (uint64_t)v : 0;
	for (uint64_t i = 0; i < nspans && i < 64; i++) {
		uint64_t s = read_word(t, spans + 8 * i, &ok);
		start = read_word(t, s + member_or(st, "runtime.mspan", "startAddr", 0), &ok);
		npages = read_word(t, s + member_or(st, "runtime.mspan", "npages", 0), &ok);
		if (!ok)
			return false;
		if (!start)
			continue;  /* a span not yet in use */
		uint64_t idx = (start - base) / bytes;
		for (uint64_t k = 0; k < narenas && k < GO_MAX_ARENAS; k++)
			if (read_word(t, arenas + 8 * k, &ok) == idx)
				return ok && npages > 0;
		return false;
	}
	return false;
}

/* allgs: a slice of runtime.g, each with a stack or (dead, its stack freed) none. */
static bool check_allgs(struct go_stripped *st, uint64_t addr)
{
	uint64_t array, len, lo = member_or(st, "runtime.g", "stack.lo", 0), hi = member_or(st, "runtime.g", "stack.hi", 8);
	bool ok = true;
	if (!read_slice(st->t, addr, &array, &len) || !len || len > (1u << 24))
		return false;
	for (uint64_t i = 0; i < len && i < 8 && ok; i++) {
		uint64_t g = read_word(st->t, array + 8 * i, &ok);
		uint64_t slo = g && ok ? read_word(st->t, g + lo, &ok) : 0, shi = g && ok ? read_word(st->t, g + hi, &ok) : 0;
		if (!g || (slo >= shi && (slo || shi)))
			return false;
	}
	return ok;
}

static bool check_allglen(struct go_stripped *st, uint64_t addr)
{
	uint64_t allgs, array, len;
	bool ok = true;
	return found_addr(st, "runtime.allgs", &allgs) && read_slice(st->t, allgs, &array, &len) &&
	       read_word(st->t, addr, &ok) == len && ok;
}

/* allp: P i has id i. */
static bool check_allp(struct go_stripped *st, uint64_t addr)
{
	uint64_t array, len, id = member_or(st, "runtime.p", "id", 0);
	bool ok = true;
	if (!read_slice(st->t, addr, &array, &len) || !len || len > 65536)
		return false;
	for (uint64_t i = 0; i < len && i < 64 && ok; i++) {
		uint64_t p = read_word(st->t, array + 8 * i, &ok);
		uint32_t pid = 0;
		struct memdbg_error *err = ok ? memdbg_read_u32(st->t, p + id, &pid) : NULL;
		if (err || pid != i) {
			memdbg_error_destroy(err);
			return false;
		}
	}
	return ok;
}

static bool check_gomaxprocs(struct go_stripped *st, uint64_t addr)
{
	uint64_t allp, array, len;
	uint32_t n;
	struct memdbg_error *err = memdbg_read_u32(st->t, addr, &n);
	memdbg_error_destroy(err);
	return !err && found_addr(st, "runtime.allp", &allp) && read_slice(st->t, allp, &array, &len) && n == len;
}

/* The size-class table: 0, 8, 16, ... strictly increasing to 32768. */
static bool check_class_to_size(struct go_stripped *st, uint64_t addr)
{
	int64_t n;
	uint16_t sizes[256];
	if ((!op_constant(st, "runtime._NumSizeClasses", &n) && !op_constant(st, "internal/runtime/gc.NumSizeClasses", &n)) ||
	    n < 3 || n > 256)
		return false;
	struct memdbg_error *err = memdbg_read(st->t, addr, sizes, (size_t)n * 2);
	if (err) {
		memdbg_error_destroy(err);
		return false;
	}
	for (int64_t i = 1; i < n; i++)
		if (sizes[i] <= sizes[i - 1])
			return false;
	return sizes[0] == 0 && sizes[1] == 8 && sizes[n - 1] == 32768;
}

/* waitReasonStrings: [0] is "", [1] "GC assist marking". */
static bool check_wait_reasons(struct go_stripped *st, uint64_t addr)
{
	uint64_t s[4];
	char text[17];
	struct memdbg_error *err = memdbg_read(st->t, addr, s, sizeof(s));
	if (!err && s[1] == 0 && s[3] == 17)
		err = memdbg_read(st->t, s[2], text, 17);
	memdbg_error_destroy(err);
	return !err && s[1] == 0 && s[3] == 17 && memcmp(text, "GC assist marking", 17) == 0;
}

/* A []*sync.Pool: a sane slice header of non-nil pointers. */
static bool check_pools(struct go_stripped *st, uint64_t addr)
{
	uint64_t array, len;
	bool ok = true;
	if (!read_slice(st->t, addr, &array, &len) || len > (1u << 20))
		return false;
	for (uint64_t i = 0; i < len && i < 64 && ok; i++)
		if (!read_word(st->t, array + 8 * i, &ok))
			return false;
	return ok;
}

/* allm: a list of Ms, each with a g0. */
static bool check_allm(struct go_stripped *st, uint64_t addr)
{
	bool ok = true;
	uint64_t m = read_word(st->t, addr, &ok);
	for (int i = 0; ok && m && i < 64; i++) {
		if (!read_word(st->t, m + member_or(st, "runtime.m", "g0", 0), &ok))
			return false;
		m = read_word(st->t, m + member_or(st, "runtime.m", "alllink", 0), &ok);
	}
	return ok;
}

struct global_spec {
	const char *name;
	bool required;
	bool strong;  /* check proves it: another reference of the function may be tried */
	bool (*check)(struct go_stripped *st, uint64_t addr);
};

/* In dependency order: the checks of allglen and gomaxprocs use allgs and allp. */
static const struct global_spec global_specs[] = {
	{ "runtime.mheap_", true, true, check_mheap },
	{ "runtime.allgs", true, true, check_allgs },
	{ "runtime.allglen", true, true, check_allglen },
	{ "runtime.allp", true, true, check_allp },
	{ "runtime.gomaxprocs", true, false, check_gomaxprocs },
	{ "runtime.gcphase", true, false, check_any },
	{ "runtime.memstats", true, false, check_any },
	{ "runtime.gcController", true, false, check_any },
	{ "runtime.sched", true, false, check_any },
	{ "runtime.emptymspan", true, false, check_any },
	{ "runtime.class_to_size", false, true, check_class_to_size },
	{ "internal/runtime/gc.SizeClassToSize", false, true, check_class_to_size },
	{ "runtime.waitReasonStrings", false, true, check_wait_reasons },
	{ "runtime.allm", false, false, check_allm },
	{ "runtime.persistentChunks", false, false, check_any },
	{ "runtime.iscgo", false, false, check_any },
	{ "runtime.fingStatus", false, false, check_any },
	{ "runtime.semtable", false, false, check_any },
	{ "sync.allPools", false, false, check_pools },
	{ "sync.oldPools", false, false, check_pools },
};

static void add_found(struct go_stripped *st, const char *name, uint64_t addr, uint64_t size, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void add_found(struct go_stripped *st, const char *name, uint64_t addr, uint64_t size, const char *fmt, ...)
{
	if (st->nglobals == MAX_GLOBALS)
		return;
	struct found *f = &st->globals[st->nglobals++];
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->addr = addr;
	f->size = size;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->how, sizeof(f->how), fmt, ap);
	va_end(ap);
}

/*
 * A global from the code of the function the table names: its k-th
 * RIP-relative reference, less the offset the code adds.  When that fails
 * a check that proves the address, every reference of the function is tried.
 */
static const char *find_global(struct go_stripped *st, const struct global_spec *g, const struct go_table_row *r,
			       uint64_t *refs)
{
	uint64_t entry, end;
	if (!find_func(st, r->path, &entry, &end))
		return "no such function in the pclntab";
	const uint8_t *code = end - entry <= MAX_FUNC_BYTES ? file_bytes(st, entry - st->t->bias, end - entry) : NULL;
	if (!code)
		return "its code is not in the executable";
	size_t n = memdbg_x86_rip_refs(code, end - entry, entry, refs, MAX_REFS, NULL);
	n = n < MAX_REFS ? n : MAX_REFS;
	const struct go_table_row *v = row_find(st, GO_ROW_VAR, g->name, "");
	uint64_t size = v ? v->size : 0;
	if (r->value >= 0 && (uint64_t)r->value < n) {
		uint64_t addr = refs[r->value] - r->size;
		if (in_sections(st, addr) && g->check(st, addr)) {
			add_found(st, g->name, addr - st->t->bias, size, "code of %s", r->path);
			return NULL;
		}
	}
	for (size_t i = 0; g->strong && i < n; i++) {
		uint64_t addr = refs[i] - r->size;
		if (in_sections(st, addr) && g->check(st, addr)) {
			add_found(st, g->name, addr - st->t->bias, size, "code of %s (reference %zu)", r->path, i);
			return NULL;
		}
	}
	return "no reference of its code holds what it must";
}

static struct memdbg_error *find_globals(struct go_stripped *st)
{
	uint64_t *refs = malloc(MAX_REFS * sizeof(*refs));
	if (!refs)
		return memdbg_enomem;
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(global_specs); i++) {
		const struct global_spec *g = &global_specs[i];
		uint64_t addr, size;
		if (memdbg_elf_symbol(st->t->exe, g->name, &addr, &size)) {
			add_found(st, g->name, addr, size, "symbol table");  /* built with -w only */
			continue;
		}
		/* The table's reference rows for it, keyed by the function (usually one). */
		const char *why = "the table has no code reference for it";
		for (size_t k = 0; k < MEMDBG_ARRAY_SIZE(go_table_rows); k++) {
			const struct go_table_row *c = &go_table_rows[k];
			if (c->kind == GO_ROW_REF && (c->configs & st->mask) && strcmp(c->name, g->name) == 0 &&
			    !(why = find_global(st, g, c, refs)))
				break;
		}
		if (why && g->required) {
			free(refs);
			return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
						   "%s: cannot find %s without symbols: %s (%s)", st->t->exe_path, g->name,
						   why, st->layouts);
		}
	}
	free(refs);
	add_found(st, "runtime.firstmoduledata", st->md - st->t->bias, 0, "%s", st->md_how);
	add_found(st, "runtime.types", st->types - st->t->bias, st->etypes - st->types, "module data");
	add_found(st, "runtime.text", st->text - st->t->bias, st->etext - st->text, "module data");
	add_found(st, "runtime.etext", st->etext - st->t->bias, 0, "module data");
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(st->sections); i++) {
		char name[32];
		snprintf(name, sizeof(name), "runtime.%s", st->sections[i].name);
		add_found(st, name, st->sections[i].lo - st->t->bias, st->sections[i].hi - st->sections[i].lo, "module data");
		snprintf(name, sizeof(name), "runtime.e%s", st->sections[i].name);
		add_found(st, name, st->sections[i].hi - st->t->bias, 0, "module data");
	}
	return NULL;
}

static bool op_variable(void *arg, const char *name, uint64_t *addr, uint64_t *size)
{
	struct go_stripped *st = arg;
	for (size_t i = 0; i < st->nglobals; i++)
		if (strcmp(st->globals[i].name, name) == 0) {
			*addr = st->globals[i].addr;
			if (size)
				*size = st->globals[i].size;
			return true;
		}
	/* A function: the pclntab names assembly functions without their .abi0 suffix. */
	char fn[MAX_NAME];
	size_t len = strlen(name);
	if (len >= sizeof(fn))
		return false;
	memcpy(fn, name, len + 1);
	if (len > 5 && strcmp(fn + len - 5, ".abi0") == 0)
		fn[len - 5] = '\0';
	uint64_t entry, end;
	if (!find_func(st, fn, &entry, &end))
		return false;
	*addr = entry - st->t->bias;
	if (size)
		*size = end - entry;
	return true;
}

/* ---- types by name ---- */

/* An abi.Name of the target at addr (flag byte, varint length, bytes) equals want. */
static bool name_is(struct memdbg_target *t, uint64_t addr, const char *want)
{
	uint8_t buf[MAX_NAME + 3];
	size_t n = strlen(want), vlen = n < 128 ? 1 : 2;
	struct memdbg_error *err = n < 128 * 128 ? memdbg_read(t, addr, buf, 1 + vlen + n) : NULL;
	if (n >= 128 * 128 || err) {
		memdbg_error_destroy(err);
		return false;
	}
	uint64_t len = buf[1] & 0x7f;
	if (vlen == 2)
		len |= (uint64_t)buf[2] << 7;
	return len == n && memcmp(buf + 1 + vlen, want, n) == 0;
}

/*
 * Is the descriptor at types+off the type DWARF calls `name` ("*a/b/c.T")?
 * Its own name says only "*c.T": a struct's PkgPath, or a pointer's
 * element, tells c.T of a/b apart from c.T of another c.
 */
static bool type_of_package(struct go_stripped *st, uint64_t off, const char *pkg, int depth)
{
	uint64_t kind, pkgpath, elem, addr = st->types + off, p;
	uint8_t k;
	bool ok = true;
	if (!*pkg)
		return true;
	struct memdbg_error *err = NULL;
	if (depth > 4 || !op_member(st, "internal/abi.Type", "Kind_", &kind, NULL) ||
	    (err = memdbg_read(st->t, addr + kind, &k, 1))) {
		memdbg_error_destroy(err);
		return false;
	}
	if ((k & 31) == 22 && op_member(st, "internal/abi.PtrType", "Elem", &elem, NULL)) {  /* Pointer */
		p = read_word(st->t, addr + elem, &ok);
		return ok && p >= st->types && type_of_package(st, p - st->types, pkg, depth + 1);
	}
	if ((k & 31) != 25 || !op_member(st, "internal/abi.StructType", "PkgPath", &pkgpath, NULL))  /* Struct */
		return false;
	p = read_word(st->t, addr + pkgpath, &ok);
	return ok && p && name_is(st->t, p, pkg);
}

/*
 * A named type's descriptor: its name is an abi.Name (a flag byte, a varint
 * length, the bytes) among the module's types, written as the runtime
 * prints it (the package's name, not its path) and stored once as "*T"
 * for both T (with TFlagExtraStar) and *T; the descriptor is the abi.Type
 * whose Str is that name's offset from moduledata.types.
 */
static bool search_type(struct go_stripped *st, const char *name, uint64_t *ret)
{
	uint64_t size = st->etypes - st->types, str, kind, tflag;
	const uint8_t *types = file_bytes(st, st->types - st->t->bias, size);
	int64_t extra;
	if (!types || !op_member(st, "internal/abi.Type", "Str", &str, NULL) ||
	    !op_member(st, "internal/abi.Type", "Kind_", &kind, NULL) ||
	    !op_member(st, "internal/abi.Type", "TFlag", &tflag, NULL))
		return false;
	if (!op_constant(st, "internal/abi.TFlagExtraStar", &extra))
		extra = 2;
	/* "*a/b/c.T[x/y.U]" -> package "a/b/c", short name "*c.T[x/y.U]". */
	char pkg[MAX_NAME], short_name[MAX_NAME + 1], star[MAX_NAME + 2];
	size_t stars = strspn(name, "*"), limit = strcspn(name, "["), slash = 0;
	for (size_t i = stars; i < limit; i++)
		if (name[i] == '/')
			slash = i + 1;
	const char *dot = strchr(name + slash, '.');
	snprintf(pkg, sizeof(pkg), "%.*s", slash && dot ? (int)(dot - name - stars) : 0, name + stars);
	snprintf(short_name, sizeof(short_name), "%.*s%s", (int)stars, name, name + (slash ? slash : stars));
	snprintf(star, sizeof(star), "*%s", short_name);
	for (int pass = 0; pass < 2; pass++) {
		const char *want = short_name[0] != '*' && pass == 0 ? star : short_name;
		bool want_extra = want == star;
		size_t n = strlen(want);
		if (n >= 128 * 128 || (pass == 1 && want_extra))
			continue;
		size_t vlen = n < 128 ? 1 : 2;
		for (const uint8_t *p = types; (p = memmem(p, types + size - p, want, n)); p++) {
			uint64_t at = (uint64_t)(p - types);
			if (at < vlen + 1 || (vlen == 1 ? p[-1] != n : (p[-2] != (0x80 | (n & 0x7f)) || p[-1] != n >> 7)))
				continue;
			int32_t nameoff = (int32_t)(at - vlen - 1);
			for (uint64_t off = 0; off + str + 4 <= size; off += 8) {
				if ((int32_t)le32(types + off + str) != nameoff || !(types[off + kind] & 31) ||
				    ((types[off + tflag] & extra) != 0) != want_extra || !type_of_package(st, off, pkg, 0))
					continue;
				*ret = off;
				return true;
			}
		}
	}
	return false;
}

static bool op_runtime_type(void *arg, const char *type, uint64_t *off)
{
	struct go_stripped *st = arg;
	for (size_t i = 0; i < st->ntnames; i++)
		if (strcmp(st->tnames[i].name, type) == 0) {
			*off = st->tnames[i].off;
			return *off != 0;
		}
	uint64_t found = 0;
	if (strlen(type) >= MAX_NAME || !search_type(st, type, &found))
		found = 0;
	if (st->ntnames < MAX_TYPE_NAMES) {
		struct type_name *tn = &st->tnames[st->ntnames++];
		snprintf(tn->name, sizeof(tn->name), "%s", type);
		tn->off = found;
	}
	*off = found;
	return found != 0;
}

/* ---- globals' types from the code that stores into them ---- */

/*
 * Without DWARF no global has a type, but the code that writes a pointer
 * global says what it writes: `g = new(T)` is
 *	LEAQ type:T(SB), AX; CALL runtime.newobject(SB); ...; MOVQ AX, g(SB)
 * (the store perhaps behind the write barrier's CMPL runtime.writeBarrier /
 * CALL runtime.gcWriteBarrierN), and makeslice, growslice (the element
 * type), makemap and makechan (the map's or channel's type) likewise.  A
 * pointer word of the data or bss (the module's GC masks) is given a type
 * when some store writes such a value into it and every other store into
 * it writes the same kind of value or nil (sync/atomic's pointer stores,
 * which atomic.Pointer[T] calls, count as stores): any store this walk
 * cannot tell (a register it lost, ...) leaves the word untyped.
 * What the core holds there is then checked by the object graph against
 * the allocation's size class and the GC's own bits before it takes it.
 */
#define MAX_FLOW_INSNS 20000
#define MAX_GSTORES (1u << 20)
#define MAX_MAP_FUNCS 64

/*
 * VAL_VALUE: the global is a T (not a word of it holding one); VAL_FIELD + k: the word k of a new(T) (what a
 * closure reads of its context), for k < MAX_FIELD_WORDS.
 */
enum { VAL_NEW = MEMDBG_X86_USER, VAL_SLICE, VAL_MAP, VAL_CHAN, VAL_VALUE, VAL_FIELD };
#define MAX_FIELD_WORDS 4096

static enum go_gstore_shape store_shape(uint32_t kind)
{
	return kind >= VAL_FIELD ? GO_GSTORE_FIELD : kind == VAL_NEW ? GO_GSTORE_NEW : kind == VAL_SLICE ? GO_GSTORE_SLICE
													  : GO_GSTORE_VALUE;
}

static uint32_t store_field(uint32_t kind)
{
	return kind >= VAL_FIELD ? 8 * (kind - VAL_FIELD) : 0;
}

/* The runtime functions whose calls the walk models; the index is the effect. */
enum { FN_NEWOBJECT, FN_MAKESLICE, FN_MAKESLICECOPY, FN_GROWSLICE, FN_MAKEMAP, FN_MAKEMAP64, FN_MAKECHAN,
       FN_MAKECHAN64, FN_ATOMIC_STORE, FN_ATOMIC_SWAP, FN_ATOMIC_CAS, FN_WB, FN_COUNT = FN_WB + 8 };
static const char *const flow_funcs[FN_COUNT] = {
	"runtime.newobject", "runtime.makeslice", "runtime.makeslicecopy", "runtime.growslice", "runtime.makemap",
	"runtime.makemap64", "runtime.makechan", "runtime.makechan64", "sync/atomic.StorePointer",
	"sync/atomic.SwapPointer", "sync/atomic.CompareAndSwapPointer", "runtime.gcWriteBarrier1",
	"runtime.gcWriteBarrier2", "runtime.gcWriteBarrier3", "runtime.gcWriteBarrier4", "runtime.gcWriteBarrier5",
	"runtime.gcWriteBarrier6", "runtime.gcWriteBarrier7", "runtime.gcWriteBarrier8",
};

struct gstore {
	uint64_t addr, type;
	uint32_t kind;
};

/*
 * Methods whose receiver is the whole of a sync.Map (before go1.24) or of the
 * HashTrieMap[any, any] that a sync.Map is since (its methods inline into
 * their callers): called with a global's address (LEAQ g(SB), AX), the global
 * is one, and its type reaches what it holds (the trie's root or the read
 * map, which only the type's atomic.Pointer names).
 */
static const struct { const char *prefix, *type; } receiver_types[] = {
	{ "sync.(*Map).", "sync.Map" },
	{ "internal/sync.(*HashTrieMap[go.shape.interface {},go.shape.interface {}]).",
	  "internal/sync.HashTrieMap[interface {},interface {}]" },
};
#define MAX_RECEIVER_FUNCS 64

/* A direct call's typed value in an argument register (arg_regs[reg]); and, kept, what a function is entered with. */
struct arg_site {
	uint64_t callee;  /* a function's index, then its entry */
	uint32_t reg;
	struct memdbg_x86_value v;
};

struct infer {
	struct go_stripped *st;
	const uint8_t *types;    /* the module's type descriptors and names, in the file */
	uint64_t types_size, str_off;  /* abi.Type.Str's offset; types_size 0: names unknown */
	uint64_t fn[FN_COUNT];  /* entries, 0: not in this program */
	struct { uint64_t lo, nbits; uint8_t *mask; } sec[2];  /* data and bss */
	struct gstore *stores;
	size_t n, cap;
	struct gstore *indexed;  /* stores into an array of pointers: its first word */
	size_t nindexed, indexed_cap;
	uint64_t *refs;          /* the data and bss addresses the code names */
	size_t nrefs, refs_cap;
	bool full, want_globals;
	uint64_t map_fn[MAX_MAP_FUNCS];  /* entries of the map operations */
	size_t nmap_fn;
	struct { uint64_t entry; size_t kind; } receiver_fn[MAX_RECEIVER_FUNCS];  /* receiver_types' methods */
	size_t nreceiver_fn;
	uint64_t receiver_type[MEMDBG_ARRAY_SIZE(receiver_types)];  /* their descriptors; 0 none, 1 not searched */
	struct gstore *values;   /* the globals that are one of those */
	size_t nvalues, values_cap;
	struct memdbg_x86_value *result;  /* per function: what every return of it returns in AX, or UNKNOWN */
	struct memdbg_x86_value returns;  /* of the function being summarized; UNKNOWN once two disagree */
	bool summarizing, any_return;
	uint64_t summarized;     /* the index of the function being summarized */
	bool *again;             /* per function: it calls one summarized after it */
	struct go_stack *s;      /* NULL: no stack slots wanted */
	struct sstore *frame;    /* the writes to the frame of the function being walked */
	size_t nframe, frame_cap;
	bool frame_lost;
	struct sword *words;     /* and the words they write */
	size_t nwords, words_cap;
	struct go_local_store *locals;
	size_t nlocals, locals_cap;
	struct go_closure_type *closures;  /* each function entry stored into word 0 of a new(T) */
	size_t nclosures, closures_cap;
	uint32_t *calls;         /* per function: the direct calls of it the walk saw; NULL: not counted */
	struct arg_site *sites;  /* their typed argument registers */
	size_t nsites, sites_cap;
	bool sites_lost;
};

/* A write into the frame: disp from SP at pc (from the frame's fp once the pclntab's pcsp says). */
struct sstore {
	uint64_t pc;
	int64_t disp;
	uint64_t width, type;
	uint32_t kind;
};

struct sword {
	int64_t off;
	uint64_t type;
	uint32_t kind;
};

enum { REG_AX = 0, REG_CX = 1, REG_DX = 2, REG_BX = 3, REG_SI = 6, REG_R11 = 11 };

/*
 * The runtime's map operations: (maptype, map, ...) in AX and BX.  A map made
 * without a size hint (makemap_small) names no type, but each use of it
 * does: LEAQ type:map[K]V(SB), AX; MOVQ g(SB), BX; CALL runtime.mapassign_faststr.
 */
static const char *const map_use_prefixes[] = { "runtime.mapaccess", "runtime.mapassign", "runtime.mapdelete",
						 "runtime.mapclear", "runtime.mapiterinit", "runtime.mapIterStart" };

static void flow_store(void *arg, uint64_t addr, uint64_t width, struct memdbg_x86_value val, bool indexed);

static bool is_map_use(const struct infer *in, uint64_t target)
{
	for (size_t i = 0; i < in->nmap_fn; i++)
		if (in->map_fn[i] == target)
			return true;
	return false;
}

/* The index of the function whose entry is the target address pc, or UINT64_MAX. */
static uint64_t func_index(const struct go_stripped *st, uint64_t pc)
{
	const uint8_t *ftab = st->pcln_bytes + st->pcln_off;
	uint64_t lo = 0, hi = st->nfunc;
	if (pc < st->text || pc - st->text > UINT32_MAX)
		return UINT64_MAX;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (le32(ftab + 8 * mid) < pc - st->text)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < st->nfunc && le32(ftab + 8 * lo) == pc - st->text ? lo : UINT64_MAX;
}

/*
 * Is the descriptor at addr a shape type ("indirect[go.shape.int,...]")?  A
 * generic function's shaped code allocates with it, but the object is of one
 * instantiation, the type DWARF names: such an allocation types nothing.
 */
static bool shape_type(const struct infer *in, uint64_t addr)
{
	uint64_t off = addr - in->st->types;
	if (!in->types_size || off + in->str_off + 4 > in->types_size)
		return false;
	uint64_t name = (uint32_t)le32(in->types + off + in->str_off), len;
	if (name + 1 >= in->types_size)
		return false;
	const uint8_t *p = in->types + name + 1, *end = in->types + in->types_size;  /* after the flag byte */
	static const char shape[] = "go.shape.";
	return uvarint(&p, end, &len) && len <= (uint64_t)(end - p) && memmem(p, len, shape, sizeof(shape) - 1);
}

/* Bytes of function i's arguments and results (_func.args): what it may write of its caller's frame. */
static uint64_t func_args(const struct go_stripped *st, uint64_t i)
{
	const uint8_t *ftab = st->pcln_bytes + st->pcln_off;
	if (i >= st->nfunc)
		return UINT64_MAX;
	uint64_t funcoff = le32(ftab + 8 * i + 4);
	if (st->pcln_off + funcoff + 12 > st->pcln_avail)
		return UINT64_MAX;
	int32_t args = (int32_t)le32(ftab + funcoff + 8);
	return args < 0 ? UINT64_MAX : (uint64_t)args;
}

static void note_receiver_global(struct infer *in, uint64_t target, uint64_t addr);

static uint64_t flow_call(void *arg, uint64_t target, struct memdbg_x86_value *regs, bool report)
{
	struct infer *in = arg;
	int fn = -1;
	for (int i = 0; i < FN_COUNT && fn < 0; i++)
		if (in->fn[i] && in->fn[i] == target)
			fn = i;
	uint64_t callee = func_index(in->st, target), writes = func_args(in->st, callee);
	if (fn >= FN_WB) {  /* the write barrier's buffer: it saves every register but R11, its result */
		regs[REG_R11] = (struct memdbg_x86_value){ MEMDBG_X86_UNKNOWN, 0 };
		return 0;
	}
	if (fn >= FN_ATOMIC_STORE) {  /* (addr, new) or (addr, old, new): an atomic.Pointer[T]'s Store, Swap, CAS */
		if (report && regs[REG_AX].kind == MEMDBG_X86_ADDR)
			flow_store(in, regs[REG_AX].a, 8, regs[fn == FN_ATOMIC_CAS ? REG_CX : REG_BX], false);
		memset(regs, 0, 16 * sizeof(*regs));
		return writes;
	}
	if (report && fn < 0 && regs[REG_AX].kind == MEMDBG_X86_ADDR)
		note_receiver_global(in, target, regs[REG_AX].a);
	/* The type argument: AX, but growslice's fifth (SI). */
	struct memdbg_x86_value t = regs[fn == FN_GROWSLICE ? REG_SI : REG_AX], out = { MEMDBG_X86_UNKNOWN, 0 };
	/* shape_type (a name search) last: most calls with a type in AX are neither modelled nor map uses */
	bool typed = t.kind == MEMDBG_X86_ADDR && t.a >= in->st->types && t.a < in->st->etypes;
	if (report && fn < 0 && typed && regs[REG_BX].kind == MEMDBG_X86_LOAD && is_map_use(in, target) &&
	    !shape_type(in, t.a))
		flow_store(in, regs[REG_BX].a, 8, (struct memdbg_x86_value){ VAL_MAP, t.a }, false);  /* the map it loaded */
	memset(regs, 0, 16 * sizeof(*regs));
	if (fn < 0 && in->result && callee != UINT64_MAX)
		regs[REG_AX] = in->result[callee];  /* a function that returns what it allocated: new(T) in a constructor */
	if (report && fn < 0 && in->summarizing && callee != UINT64_MAX && callee > in->summarized)
		in->again[in->summarized] = true;
	if (!typed || fn < 0 || shape_type(in, t.a))
		return writes;
	static const uint32_t kinds[] = { VAL_NEW, VAL_SLICE, VAL_SLICE, VAL_SLICE, VAL_MAP, VAL_MAP, VAL_CHAN, VAL_CHAN };
	out = (struct memdbg_x86_value){ kinds[fn], t.a };
	regs[REG_AX] = out;
	return writes;
}

/* A pointer word of the data or bss, as the module's GC masks say. */
static bool pointer_word(const struct infer *in, uint64_t addr)
{
	for (int k = 0; k < 2; k++) {
		const uint8_t *m = in->sec[k].mask;
		if (m && addr >= in->sec[k].lo && (addr - in->sec[k].lo) / 8 < in->sec[k].nbits) {
			uint64_t w = (addr - in->sec[k].lo) / 8;
			return (m[w / 8] >> (w % 8)) & 1;
		}
	}
	return false;
}

static bool grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return true;
	size_t c = *cap ? 2 * *cap : 4096;
	void *np = c <= MAX_GSTORES ? realloc(*p, c * size) : NULL;
	if (!np)
		return false;
	*p = np;
	*cap = c;
	return true;
}

static bool in_data(const struct infer *in, uint64_t addr)
{
	for (int k = 0; k < 2; k++)
		if (addr >= in->sec[k].lo && (addr - in->sec[k].lo) / 8 < in->sec[k].nbits)
			return true;
	return false;
}

/* A call of one of receiver_types' methods with a global's address: the global is one (in->values). */
static void note_receiver_global(struct infer *in, uint64_t target, uint64_t addr)
{
	size_t i = 0;
	while (i < in->nreceiver_fn && in->receiver_fn[i].entry != target)
		i++;
	if (!in->want_globals || i == in->nreceiver_fn || !in_data(in, addr))
		return;
	size_t k = in->receiver_fn[i].kind;
	uint64_t off;
	if (in->receiver_type[k] == 1)
		in->receiver_type[k] = search_type(in->st, receiver_types[k].type, &off) ? in->st->types + off : 0;
	if (!in->receiver_type[k])
		return;
	if (!grow((void **)&in->values, &in->values_cap, in->nvalues, sizeof(*in->values))) {
		in->full = true;
		return;
	}
	in->values[in->nvalues++] = (struct gstore){ addr, in->receiver_type[k], VAL_VALUE };
}

/* Every address of the data or bss the code names: where one variable may begin. */
static void flow_ref(void *arg, uint64_t addr)
{
	struct infer *in = arg;
	if (!in->want_globals || !in_data(in, addr) || (in->nrefs && in->refs[in->nrefs - 1] == addr))
		return;
	if (!grow((void **)&in->refs, &in->refs_cap, in->nrefs, sizeof(*in->refs))) {
		in->full = true;
		return;
	}
	in->refs[in->nrefs++] = addr;
}

static void flow_store(void *arg, uint64_t addr, uint64_t width, struct memdbg_x86_value val, bool indexed)
{
	struct infer *in = arg;
	if (!in->want_globals)
		return;
	bool whole = width == 8 && addr % 8 == 0;
	if (indexed) {
		/* An element of an array of pointers that begins at addr: resolved once every reference is known. */
		if (!whole || !pointer_word(in, addr) || val.kind < MEMDBG_X86_USER)
			return;
		if (!grow((void **)&in->indexed, &in->indexed_cap, in->nindexed, sizeof(*in->indexed))) {
			in->full = true;
			return;
		}
		in->indexed[in->nindexed++] = (struct gstore){ addr, val.a, val.kind };
		return;
	}
	flow_ref(arg, addr);
	for (uint64_t w = addr & ~7ull; w < addr + width && w >= (addr & ~7ull); w += 8) {
		if (!pointer_word(in, w))
			continue;
		if (!grow((void **)&in->stores, &in->cap, in->n, sizeof(*in->stores))) {
			in->full = true;
			return;
		}
		uint32_t kind = val.kind == MEMDBG_X86_ZERO || (whole && val.kind >= MEMDBG_X86_USER) ? val.kind
											      : MEMDBG_X86_UNKNOWN;
		in->stores[in->n++] = (struct gstore){ w, kind >= MEMDBG_X86_USER ? val.a : 0, kind };
	}
}

/*
 * A return of the function being summarized: every return must give AX nil
 * or the same kind of allocation for calls of it to give that.
 */
static void flow_ret(void *arg, const struct memdbg_x86_value *regs)
{
	struct infer *in = arg;
	struct memdbg_x86_value ax = regs ? regs[REG_AX] : (struct memdbg_x86_value){ MEMDBG_X86_UNKNOWN, 0 };
	if (!in->summarizing || ax.kind == MEMDBG_X86_ZERO)
		return;
	if (ax.kind < MEMDBG_X86_USER || (in->any_return && (ax.kind != in->returns.kind || ax.a != in->returns.a)))
		ax = (struct memdbg_x86_value){ MEMDBG_X86_UNKNOWN, 0 };
	if (!in->any_return || in->returns.kind != MEMDBG_X86_UNKNOWN)
		in->returns = ax;
	in->any_return = true;
}

static void flow_stack(void *arg, uint64_t pc, int64_t disp, uint64_t width, struct memdbg_x86_value val)
{
	struct infer *in = arg;
	if (in->frame_lost)
		return;
	if (!grow((void **)&in->frame, &in->frame_cap, in->nframe, sizeof(*in->frame))) {
		in->frame_lost = true;
		return;
	}
	in->frame[in->nframe++] = (struct sstore){ pc, disp, width, val.kind >= MEMDBG_X86_USER ? val.a : 0, val.kind };
}

/*
 * A write into what new(T) returned: word 0 written with a function's entry
 * makes T that function's closure context (when T is one, which the object
 * graph checks: F uintptr first).
 */
static void flow_store_into(void *arg, struct memdbg_x86_value base, int64_t disp, uint64_t width,
			    struct memdbg_x86_value val)
{
	struct infer *in = arg;
	if (!in->want_globals || base.kind != VAL_NEW || disp != 0 || width != 8 || val.kind != MEMDBG_X86_ADDR ||
	    func_index(in->st, val.a) == UINT64_MAX)
		return;
	if (!grow((void **)&in->closures, &in->closures_cap, in->nclosures, sizeof(*in->closures))) {
		in->full = true;
		return;
	}
	in->closures[in->nclosures++] = (struct go_closure_type){ val.a, base.a };
}

static int closure_entry_cmp(const void *key, const void *elem)
{
	uint64_t entry = *(const uint64_t *)key, e = ((const struct go_closure_type *)elem)->entry;
	return entry < e ? -1 : entry > e;
}

const struct go_closure_type *go_closure_type_of(const struct go_closure_type *closures, size_t n, uint64_t entry)
{
	return n ? bsearch(&entry, closures, n, sizeof(*closures), closure_entry_cmp) : NULL;
}

/* The integer argument registers of ABIInternal, in order: AX, BX, CX, DI, SI, R8-R11. */
static const uint8_t arg_regs[] = { 0, 3, 1, 7, 6, 8, 9, 10, 11 };

static int arg_entry_cmp(const void *key, const void *elem)
{
	uint64_t entry = *(const uint64_t *)key, e = ((const struct arg_site *)elem)->callee;
	return entry < e ? -1 : entry > e;
}

/* The first kept argument type of the function at entry, or NULL. */
static const struct arg_site *args_of(const struct go_stripped *st, uint64_t entry)
{
	const struct arg_site *a = st->nargs ? bsearch(&entry, st->args, st->nargs, sizeof(*st->args), arg_entry_cmp) : NULL;
	while (a && a > st->args && a[-1].callee == entry)
		a--;
	return a;
}

/*
 * A closure's function is entered with its context, a new(T) of the type its
 * closures are made with, in DX; a function every call of which passes the
 * same typed value in an argument register (keep_arg_types), with that.
 */
static void flow_entry(void *arg, uint64_t addr, struct memdbg_x86_value *regs)
{
	struct infer *in = arg;
	const struct go_closure_type *c = go_closure_type_of(in->st->closures, in->st->nclosures, addr);
	if (c)
		regs[REG_DX] = (struct memdbg_x86_value){ VAL_NEW, c->type };
	for (const struct arg_site *a = args_of(in->st, addr); a && a < in->st->args + in->st->nargs && a->callee == addr;
	     a++)
		regs[arg_regs[a->reg]] = a->v;
}

/* A direct call the walk saw, and the typed values in its argument registers. */
static void flow_call_site(void *arg, uint64_t target, const struct memdbg_x86_value *regs)
{
	struct infer *in = arg;
	uint64_t callee = in->calls ? func_index(in->st, target) : UINT64_MAX;
	if (callee == UINT64_MAX)
		return;
	in->calls[callee] += in->calls[callee] < UINT32_MAX;
	for (uint32_t k = 0; k < MEMDBG_ARRAY_SIZE(arg_regs); k++) {
		if (regs[arg_regs[k]].kind < MEMDBG_X86_USER)
			continue;
		if (!grow((void **)&in->sites, &in->sites_cap, in->nsites, sizeof(*in->sites))) {
			in->sites_lost = true;
			return;
		}
		in->sites[in->nsites++] = (struct arg_site){ callee, k, regs[arg_regs[k]] };
	}
}

/* A load from a new(T) reads T's word there: which, the object graph resolves from T. */
static struct memdbg_x86_value flow_load(void *arg, struct memdbg_x86_value base, int64_t disp)
{
	(void)arg;
	if (base.kind != VAL_NEW || disp < 0 || disp % 8 || disp / 8 >= MAX_FIELD_WORDS)
		return (struct memdbg_x86_value){ MEMDBG_X86_UNKNOWN, 0 };
	return (struct memdbg_x86_value){ VAL_FIELD + (uint32_t)(disp / 8), base.a };
}

static int sword_cmp(const void *a, const void *b)
{
	const struct sword *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

/*
 * Where fn's local variables with pointers begin, from its fp: the compiler
 * lays them out at the top of the locals (varp, fp - 16, down), as long as
 * its locals stack map; INT64_MIN when not known.
 */
static int64_t pointer_locals(struct infer *in, const struct go_func *fn)
{
	uint64_t map = go_func_funcdata(in->s, fn, GO_FUNCDATA_LOCALS_POINTER_MAPS);
	int32_t hdr[2];  /* runtime.stackmap{n, nbit int32; ...} */
	struct memdbg_error *err = map ? memdbg_read(in->st->t, map, hdr, sizeof(hdr)) : NULL;
	if (!map || err || hdr[1] < 0 || hdr[1] > (1 << 20)) {
		memdbg_error_destroy(err);
		return INT64_MIN;
	}
	return -16 - 8 * (int64_t)hdr[1];
}

/* The words of frame writes, from the frame's fp; false when a write's place cannot be known. */
static bool frame_words(struct infer *in, const struct go_func *fn, int64_t *escape)
{
	int32_t d, dmax = 0;
	int64_t pointers = INT64_MIN;
	bool pointers_read = false;
	in->nwords = 0;
	for (size_t i = 0; i < in->nframe; i++) {
		struct sstore *w = &in->frame[i];
		if (w->disp == MEMDBG_X86_WHOLE_FRAME || !go_func_spdelta(in->s, fn, w->pc, &d))
			return false;
		w->disp -= (int64_t)d + 8;  /* SP at pc is fp - 8 - d */
		dmax = d > dmax ? d : dmax;
	}
	*escape = INT64_MAX;
	for (size_t i = 0; i < in->nframe; i++) {
		const struct sstore *w = &in->frame[i];
		if (w->width >= MEMDBG_X86_ADDRESS) {
			/*
			 * What is written through an address the code takes is the variable that begins
			 * there (a copy into it, or a callee's write), and a variable with pointers is
			 * 8-aligned: an odd address holds none, and whatever shares a slot with one
			 * while it is dead is written again before it is live.  An address below the
			 * frame is the prologue's stack-bound check (LEAQ -n(SP), R12; CMPQ R12, 16(R14)).
			 * One below the variables with pointers is of a variable without (a channel
			 * receive's int): it reaches none of theirs.
			 */
			if (w->width == MEMDBG_X86_ADDRESS && !pointers_read) {
				pointers = pointer_locals(in, fn);
				pointers_read = true;
			}
			if (w->disp >= -8 - (int64_t)dmax && (w->disp & 7) == 0 && w->disp < *escape &&
			    !(w->width == MEMDBG_X86_ADDRESS && w->disp < pointers))
				*escape = w->disp;
			continue;
		}
		bool whole = w->width == 8 && (w->disp & 7) == 0;
		uint32_t kind = w->kind == MEMDBG_X86_ZERO || (whole && w->kind >= MEMDBG_X86_USER) ? w->kind
											  : MEMDBG_X86_UNKNOWN;
		for (int64_t o = w->disp - (w->disp & 7); o < w->disp + (int64_t)w->width; o += 8) {
			if (!grow((void **)&in->words, &in->words_cap, in->nwords, sizeof(*in->words)))
				return false;
			in->words[in->nwords++] = (struct sword){ o, kind >= MEMDBG_X86_USER ? w->type : 0, kind };
		}
	}
	return true;
}

/*
 * The words of the frame of the function at entry, just walked, that every
 * write types alike (nil aside), below any address of the frame the code
 * takes: into in->locals.  Unlike a global's, a slot has no one static type
 * (the compiler gives variables whose lifetimes do not overlap the same
 * slot), so a write the walk cannot tell counts against it.
 */
static void frame_types(struct infer *in, uint64_t entry)
{
	bool any = false;
	for (size_t i = 0; i < in->nframe && !any; i++)
		any = in->frame[i].kind >= MEMDBG_X86_USER && in->frame[i].width == 8;
	const struct go_func *fn = any && !in->frame_lost ? go_func_at(in->s, entry) : NULL;
	int64_t escape;
	if (!fn || fn->entry != entry || fn->pcsp == 0 || !frame_words(in, fn, &escape))
		return;
	qsort(in->words, in->nwords, sizeof(*in->words), sword_cmp);
	for (size_t i = 0, j; i < in->nwords; i = j) {
		const struct sword *typed = NULL;
		bool agree = in->words[i].off < escape;
		for (j = i; j < in->nwords && in->words[j].off == in->words[i].off; j++) {
			const struct sword *w = &in->words[j];
			if (w->kind == MEMDBG_X86_ZERO)
				continue;
			if (w->kind < MEMDBG_X86_USER || (typed && (typed->kind != w->kind || typed->type != w->type)))
				agree = false;
			typed = typed ? typed : w;
		}
		if (!agree || !typed)
			continue;
		if (!grow((void **)&in->locals, &in->locals_cap, in->nlocals, sizeof(*in->locals)))
			return;
		in->locals[in->nlocals++] = (struct go_local_store){ entry, typed->off, typed->type, store_shape(typed->kind),
								     store_field(typed->kind) };
	}
}

static int gstore_cmp(const void *a, const void *b)
{
	const struct gstore *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * A store into an array of pointers (LEAQ sym(SB), SI; MOVQ AX, (SI)(DX*8))
 * stands for a store into each of its words: the pointer words from its
 * first on, up to the next address the code names or the first word
 * without a pointer.
 */
#define MAX_ARRAY_WORDS 65536
static bool spread_indexed(struct infer *in)
{
	if (in->nrefs)
		qsort(in->refs, in->nrefs, sizeof(*in->refs), u64_cmp);
	for (size_t i = 0; i < in->nindexed; i++) {
		struct gstore g = in->indexed[i];
		size_t lo = 0, hi = in->nrefs;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (in->refs[mid] <= g.addr)
				lo = mid + 1;
			else
				hi = mid;
		}
		uint64_t end = lo < in->nrefs ? in->refs[lo] : UINT64_MAX;
		for (uint64_t w = g.addr, k = 0; w < end && k < MAX_ARRAY_WORDS && pointer_word(in, w); w += 8, k++) {
			if (!grow((void **)&in->stores, &in->cap, in->n, sizeof(*in->stores)))
				return false;
			in->stores[in->n++] = (struct gstore){ w, g.type, g.kind };
		}
	}
	return true;
}

/* The data's and bss's GC masks from the module data. */
static bool read_masks(struct go_stripped *st, struct infer *in)
{
	static const char *const names[2][2] = { { "data", "gcdatamask" }, { "bss", "gcbssmask" } };
	uint64_t off, n_off, bytes_off;
	bool ok = true;
	if (!op_member(st, "runtime.bitvector", "n", &n_off, NULL) ||
	    !op_member(st, "runtime.bitvector", "bytedata", &bytes_off, NULL))
		return false;
	for (int k = 0; k < 2; k++) {
		if (!op_member(st, "runtime.moduledata", names[k][0], &off, NULL))
			return false;
		in->sec[k].lo = read_word(st->t, st->md + off, &ok);
		if (!op_member(st, "runtime.moduledata", names[k][1], &off, NULL))
			return false;
		uint64_t nbits = (uint32_t)read_word(st->t, st->md + off + n_off, &ok);
		uint64_t bytes = read_word(st->t, st->md + off + bytes_off, &ok);
		if (!ok || nbits > (1ull << 32))
			return false;
		if (!(in->sec[k].mask = malloc(nbits / 8 + 1)))
			return false;
		struct memdbg_error *err = memdbg_read(st->t, bytes, in->sec[k].mask, (nbits + 7) / 8);
		if (err) {
			memdbg_error_destroy(err);
			return false;
		}
		in->sec[k].nbits = nbits;
	}
	return true;
}

/* Keep the global words whose stores agree into st->gstores. */
static void keep_global_types(struct go_stripped *st, struct infer *in)
{
	if (in->full || !spread_indexed(in))
		return;
	if (in->n)
		qsort(in->stores, in->n, sizeof(*in->stores), gstore_cmp);
	size_t kept = 0;
	for (size_t i = 0, j; i < in->n; i = j) {
		const struct gstore *typed = NULL;
		bool agree = true;
		for (j = i; j < in->n && in->stores[j].addr == in->stores[i].addr; j++) {
			const struct gstore *s = &in->stores[j];
			if (s->kind == MEMDBG_X86_ZERO)
				continue;
			if (s->kind < MEMDBG_X86_USER)
				continue;  /* what the walk cannot tell: the global's static type still holds */
			if (typed && (typed->kind != s->kind || typed->type != s->type))
				agree = false;
			typed = typed ? typed : s;
		}
		if (agree && typed && typed->kind >= MEMDBG_X86_USER)
			in->stores[kept++] = *typed;
	}
	/* Then the globals that are a T, once each. */
	if (in->nvalues)
		qsort(in->values, in->nvalues, sizeof(*in->values), gstore_cmp);
	size_t nvalues = 0;
	for (size_t i = 0; i < in->nvalues; i++)
		if (!nvalues || in->values[i].addr != in->values[nvalues - 1].addr ||
		    in->values[i].type != in->values[nvalues - 1].type)
			in->values[nvalues++] = in->values[i];
	st->gstores = kept + nvalues ? malloc((kept + nvalues) * sizeof(*st->gstores)) : NULL;
	for (size_t i = 0; st->gstores && i < kept + nvalues; i++) {
		const struct gstore *s = i < kept ? &in->stores[i] : &in->values[i - kept];
		st->gstores[i] = (struct go_global_store){ .addr = s->addr, .type = s->type, .shape = store_shape(s->kind),
							   .field = store_field(s->kind),
							   .after_pointer = i < kept && pointer_word(in, s->addr - 8) };
	}
	st->ngstores = st->gstores ? kept + nvalues : 0;
}

static int closure_type_cmp(const void *a, const void *b)
{
	const struct go_closure_type *x = a, *y = b;
	return x->entry != y->entry ? (x->entry < y->entry ? -1 : 1) : x->type < y->type ? -1 : x->type > y->type;
}

/* Keep the functions whose closures are all made with one type into st->closures. */
static void keep_closure_types(struct go_stripped *st, struct infer *in)
{
	if (in->full || !in->nclosures)
		return;
	qsort(in->closures, in->nclosures, sizeof(*in->closures), closure_type_cmp);
	size_t kept = 0;
	for (size_t i = 0, j; i < in->nclosures; i = j) {
		bool one = true;
		for (j = i; j < in->nclosures && in->closures[j].entry == in->closures[i].entry; j++)
			one &= in->closures[j].type == in->closures[i].type;
		if (one)
			in->closures[kept++] = in->closures[i];
	}
	st->closures = in->closures;
	st->nclosures = kept;

	in->closures = NULL;
}

static int arg_site_cmp(const void *a, const void *b)
{
	const struct arg_site *x = a, *y = b;
	if (x->callee != y->callee || x->reg != y->reg)
		return x->callee != y->callee ? (x->callee < y->callee ? -1 : 1) : (x->reg < y->reg ? -1 : 1);
	if (x->v.kind != y->v.kind)
		return x->v.kind < y->v.kind ? -1 : 1;
	return x->v.a < y->v.a ? -1 : x->v.a > y->v.a;
}

/* "a/b.F": a function of package scope; not a method, which an interface may call, nor a closure or an instantiation. */
static bool plain_function(const char *name)
{
	const char *base = strrchr(name, '/'), *dot;
	dot = strchr(base ? base + 1 : name, '.');
	return dot && dot[1] && !strpbrk(dot + 1, ".([");
}

/*
 * How often the program names each of the functions [entries[i], ends[i])
 * (sorted): in refs, the rel32 operands of the text that lead to its entry
 * (calls, jumps, RIP-relative operands such as LEAQ F(SB)) but its own jump
 * back there after morestack, counting every byte that could begin one, so
 * never fewer than there are; in data, whether an 8-byte word of the data
 * holds the entry (a func value, an itab's method).  false when part of the
 * data cannot be read.
 */
static bool count_refs(struct go_stripped *st, const uint8_t *text, uint64_t text_len, const uint64_t *entries,
		       const uint64_t *ends, size_t n, uint32_t *refs, bool *data)
{
	for (uint64_t q = 1; q + 4 <= text_len; q++) {
		uint8_t b = text[q - 1];
		if (b != 0xe8 && b != 0xe9 && !(b >= 0x80 && b <= 0x8f && q >= 2 && text[q - 2] == 0x0f) && (b & 0xc7) != 0x05)
			continue;  /* CALL, JMP, Jcc rel32; a ModRM of a RIP-relative operand */
		uint64_t to = st->text + q + 4 + (uint64_t)(int64_t)(int32_t)le32(text + q);
		const uint64_t *e = to >= entries[0] && to <= entries[n - 1] ? bsearch(&to, entries, n, 8, u64_cmp) : NULL;
		uint64_t from = st->text + q - 1;
		if (e && !(b == 0xe9 && from >= *e && from < ends[e - entries]))
			refs[e - entries] += refs[e - entries] < UINT32_MAX;
	}
	static const struct { const char *name; bool needed; } sections[] = {
		{ ".rodata", true }, { ".noptrdata", true }, { ".data", true }, { ".data.rel.ro", false }, { ".got", false },
	};
	uint64_t words[SCAN_CHUNK / 8];
	for (size_t k = 0; k < MEMDBG_ARRAY_SIZE(sections); k++) {
		uint64_t addr, size;
		if (!memdbg_elf_section(st->t->exe, sections[k].name, &addr, &size)) {
			if (sections[k].needed)
				return false;
			continue;
		}
		for (uint64_t off = 0; off + 8 <= size; off += sizeof(words)) {
			size_t len = size - off < sizeof(words) ? (size_t)(size - off) / 8 * 8 : sizeof(words);
			struct memdbg_error *err = memdbg_read(st->t, addr + st->t->bias + off, words, len);
			if (err) {
				memdbg_error_destroy(err);
				return false;
			}
			for (size_t w = 0; w < len / 8; w++) {
				const uint64_t *e = words[w] >= entries[0] && words[w] <= entries[n - 1] ?
					bsearch(&words[w], entries, n, 8, u64_cmp) : NULL;
				if (e)
					data[e - entries] = true;
			}
		}
	}
	return true;
}

/*
 * Keep in st->args, by entry, each argument register of a function in which
 * every call of it passes the same typed value: a new(T), a slice's array, a
 * word of a closure's context.  Its frames then type what it keeps of that
 * argument as its own writes of it (flow_entry).  Only a function whose every
 * reference in the program is a direct call the walk saw: nothing may call it
 * with anything else (through a func value, an interface, a jump).
 */
static void keep_arg_types(struct infer *in, const uint8_t *text, uint64_t text_len)
{
	struct go_stripped *st = in->st;
	if (in->sites_lost || !in->nsites)
		return;
	qsort(in->sites, in->nsites, sizeof(*in->sites), arg_site_cmp);
	size_t kept = 0, n = 0;
	for (size_t i = 0, j; i < in->nsites; i = j) {
		const struct arg_site *a = &in->sites[i];
		for (j = i; j < in->nsites && in->sites[j].callee == a->callee && in->sites[j].reg == a->reg; j++)
			;
		uint32_t lo, hi;
		const char *name = func_name(st, a->callee, &lo, &hi);
		if (j - i == in->calls[a->callee] && !arg_site_cmp(a, &in->sites[j - 1]) && name && plain_function(name))
			in->sites[kept++] = *a;
	}
	uint64_t *entries = malloc((kept ? kept : 1) * sizeof(*entries)), *ends = malloc((kept ? kept : 1) * sizeof(*ends));
	uint32_t *refs = calloc(kept ? kept : 1, sizeof(*refs));
	bool *data = calloc(kept ? kept : 1, sizeof(*data));
	const uint8_t *ftab = st->pcln_bytes + st->pcln_off;
	for (size_t i = 0; entries && ends && i < kept; i++)
		if (!n || in->sites[i].callee != in->sites[i - 1].callee) {
			entries[n] = st->text + le32(ftab + 8 * in->sites[i].callee);
			ends[n++] = st->text + le32(ftab + 8 * (in->sites[i].callee + 1));
		}
	if (n && refs && data && count_refs(st, text, text_len, entries, ends, n, refs, data)) {
		size_t out = 0;
		for (size_t i = 0, e = 0; i < kept; i++) {
			struct arg_site a = in->sites[i];  /* read before out overwrites it */
			e += i && entries[e] != st->text + le32(ftab + 8 * a.callee);
			if (refs[e] == in->calls[a.callee] && !data[e])
				in->sites[out++] = (struct arg_site){ entries[e], a.reg, a.v };
		}
		st->args = out ? in->sites : NULL;
		st->nargs = out;
		in->sites = out ? NULL : in->sites;
	}
	free(entries);
	free(ends);
	free(refs);
	free(data);
}

/* The frames of the functions keep_arg_types gave argument types, walked again with them. */
static void retype_arg_frames(struct infer *in, const uint8_t *text, uint64_t text_len,
			      const struct memdbg_x86_flow_ops *ops)
{
	struct go_stripped *st = in->st;
	const uint8_t *ftab = st->pcln_bytes + st->pcln_off;
	size_t kept = 0;
	for (size_t i = 0; i < in->nlocals; i++)
		if (!args_of(st, in->locals[i].entry))
			in->locals[kept++] = in->locals[i];
	in->nlocals = kept;
	for (size_t k = 0; k < st->nargs; k++) {
		uint64_t i = func_index(st, st->args[k].callee);
		if ((k && st->args[k - 1].callee == st->args[k].callee) || i == UINT64_MAX)
			continue;
		uint64_t lo = le32(ftab + 8 * i), hi = le32(ftab + 8 * (i + 1));
		if (hi <= lo || hi > text_len || hi - lo > MAX_FUNC_BYTES)
			continue;
		in->nframe = 0;
		in->frame_lost = false;
		memdbg_x86_flow(text + lo, hi - lo, st->text + lo, MAX_FLOW_INSNS, ops, in);
		frame_types(in, st->text + lo);
	}
}

int go_local_store_cmp(const void *a, const void *b)
{
	const struct go_local_store *x = a, *y = b;
	return x->entry != y->entry ? (x->entry < y->entry ? -1 : 1) : x->off < y->off ? -1 : x->off > y->off;
}

/*
 * What each function returns in AX when every return of it agrees (flow_ret):
 * a walk of every function of at most MAX_SUMMARY_BYTES (a constructor is
 * small; the walk costs half as much again as the main one), each function
 * knowing what was found for those before it; then, up to MAX_SUMMARY_PASSES
 * in all, again of those that call one after it and were not known
 * (regexp.MustCompile returns what Compile does, which returns what compile
 * allocates, in that order).  Not an allocation of one of the runtime's own
 * types: the caller holds it as another's (makemap_small's new(hmap) is a
 * map[K]V's header, time.newTimer's runtime.timeTimer a *time.Timer), which
 * DWARF and the code elsewhere type it by.
 */
#define MAX_SUMMARY_BYTES 1024
#define MAX_SUMMARY_PASSES 4
static bool summarize(struct go_stripped *st, struct infer *in, const uint8_t *text, uint64_t text_len)
{
	static const struct memdbg_x86_flow_ops ops = { flow_call, flow_store, flow_ref, NULL, flow_ret };
	const uint8_t *ftab = st->pcln_bytes + st->pcln_off;
	bool want_globals = in->want_globals, learned = true;
	in->result = calloc(st->nfunc ? st->nfunc : 1, sizeof(*in->result));
	in->again = calloc(st->nfunc ? st->nfunc : 1, sizeof(*in->again));
	if (!in->result || !in->again) {
		free(in->again);
		in->again = NULL;
		return false;
	}
	in->summarizing = true;
	in->want_globals = false;
	for (int pass = 0; pass < MAX_SUMMARY_PASSES && learned; pass++) {
		learned = false;
		for (uint64_t i = 0; i < st->nfunc; i++) {
			uint64_t lo = le32(ftab + 8 * i), hi = le32(ftab + 8 * (i + 1));
			if (hi <= lo || hi > text_len || hi - lo > MAX_SUMMARY_BYTES ||
			    (pass && (!in->again[i] || in->result[i].kind != MEMDBG_X86_UNKNOWN)))
				continue;
			in->any_return = false;
			in->summarized = i;
			memdbg_x86_flow(text + lo, hi - lo, st->text + lo, MAX_FLOW_INSNS, &ops, in);
			struct memdbg_x86_value r = in->any_return ? in->returns : (struct memdbg_x86_value){ MEMDBG_X86_UNKNOWN, 0 };
			if (r.kind >= MEMDBG_X86_USER && r.a >= st->types && r.a < st->etypes &&
			    (type_of_package(st, r.a - st->types, "runtime", 0) ||
			     type_of_package(st, r.a - st->types, "internal/runtime/maps", 0)))
				r = (struct memdbg_x86_value){ MEMDBG_X86_UNKNOWN, 0 };
			learned |= r.kind != MEMDBG_X86_UNKNOWN;
			in->result[i] = r;
		}
	}
	free(in->again);
	in->again = NULL;
	in->summarizing = false;
	in->want_globals = want_globals;
	return true;
}

/*
 * Walk every function: the global words whose stores agree, unless known
 * already, and with s the frames' slots whose writes agree.
 */
static void infer_code_types(struct go_stripped *st, struct go_stack *s)
{
	if (s && !st->gstores_done)
		infer_code_types(st, NULL);  /* the closures' context types first (flow_entry) */
	struct infer in = { .st = st, .s = s, .want_globals = !st->gstores_done };
	for (size_t k = 0; k < MEMDBG_ARRAY_SIZE(receiver_types); k++)
		in.receiver_type[k] = 1;
	/* Without s no frame is wanted: the walk need not report its writes. */
	static const struct memdbg_x86_flow_ops frame_ops = { flow_call, flow_store, flow_ref, flow_stack, NULL,
							      flow_store_into, flow_entry, flow_load, flow_call_site },
						 globals_ops = { flow_call, flow_store, flow_ref, NULL, NULL, flow_store_into,
								 NULL, flow_load };
	const struct memdbg_x86_flow_ops *ops = s ? &frame_ops : &globals_ops;
	uint64_t text_len = st->etext - st->text;
	const uint8_t *text = st->etext > st->text ? file_bytes(st, st->text - st->t->bias, text_len) : NULL;
	st->gstores_done = true;
	st->lstores_done |= s != NULL;
	if (!text || !read_masks(st, &in))
		goto out;
	if (st->etypes > st->types && op_member(st, "internal/abi.Type", "Str", &in.str_off, NULL) &&
	    (in.types = file_bytes(st, st->types - st->t->bias, st->etypes - st->types)))
		in.types_size = st->etypes - st->types;
	for (uint64_t i = 0; i < st->nfunc; i++) {
		uint32_t lo, hi;
		const char *name = func_name(st, i, &lo, &hi);
		for (int k = 0; name && k < FN_COUNT; k++)
			if (strcmp(name, flow_funcs[k]) == 0)
				in.fn[k] = st->text + lo;
		for (size_t k = 0; name && k < MEMDBG_ARRAY_SIZE(map_use_prefixes) && in.nmap_fn < MAX_MAP_FUNCS; k++)
			if (strncmp(name, map_use_prefixes[k], strlen(map_use_prefixes[k])) == 0)
				in.map_fn[in.nmap_fn++] = st->text + lo;
		for (size_t k = 0; name && k < MEMDBG_ARRAY_SIZE(receiver_types) && in.nreceiver_fn < MAX_RECEIVER_FUNCS; k++)
			if (strncmp(name, receiver_types[k].prefix, strlen(receiver_types[k].prefix)) == 0)
				in.receiver_fn[in.nreceiver_fn].entry = st->text + lo, in.receiver_fn[in.nreceiver_fn++].kind = k;
	}
	if (!in.fn[FN_NEWOBJECT] || !summarize(st, &in, text, text_len))
		goto out;
	if (s)
		in.calls = calloc(st->nfunc ? st->nfunc : 1, sizeof(*in.calls));
	const uint8_t *ftab = st->pcln_bytes + st->pcln_off;
	for (uint64_t i = 0; i < st->nfunc && !in.full; i++) {
		uint64_t lo = le32(ftab + 8 * i), hi = le32(ftab + 8 * (i + 1));
		if (hi <= lo || hi > text_len || hi - lo > MAX_FUNC_BYTES)
			continue;
		in.nframe = 0;
		in.frame_lost = false;
		memdbg_x86_flow(text + lo, hi - lo, st->text + lo, MAX_FLOW_INSNS, ops, &in);
		if (s)
			frame_types(&in, st->text + lo);
	}
	if (in.want_globals) {
		keep_global_types(st, &in);
		keep_closure_types(st, &in);
	}
	if (in.calls && !in.full) {
		keep_arg_types(&in, text, text_len);
		free(in.calls);
		in.calls = NULL;  /* the walks again count no calls */
		retype_arg_frames(&in, text, text_len, ops);
	}
	if (s && in.nlocals) {
		qsort(in.locals, in.nlocals, sizeof(*in.locals), go_local_store_cmp);
		st->lstores = in.locals;
		st->nlstores = in.nlocals;
		in.locals = NULL;
	}
out:
	free(in.stores);
	free(in.indexed);
	free(in.refs);
	free(in.frame);
	free(in.words);
	free(in.locals);
	free(in.closures);
	free(in.values);
	free(in.calls);
	free(in.sites);
	free(in.result);
	free(in.sec[0].mask);
	free(in.sec[1].mask);
}

size_t go_stripped_global_types(struct go_stripped *st, const struct go_global_store **ret)
{
	if (!st->gstores_done)
		infer_code_types(st, NULL);
	*ret = st->gstores;
	return st->ngstores;
}

size_t go_stripped_closure_types(struct go_stripped *st, const struct go_closure_type **ret)
{
	if (!st->gstores_done)
		infer_code_types(st, NULL);
	*ret = st->closures;
	return st->nclosures;
}

size_t go_stripped_local_types(struct go_stripped *st, struct go_stack *s, const struct go_local_store **ret)
{
	if (!st->lstores_done && s)
		infer_code_types(st, s);
	*ret = st->lstores;
	return st->nlstores;
}

/* ---- receivers of method frames ---- */

/*
 * A frame of a method on a pointer, "a/b.(*T).M" in the pclntab, holds its
 * receiver, a *a/b.T, in the argument area: the FUNCDATA_ArgInfo the
 * runtime prints tracebacks from gives each argument's offset there (a
 * register argument's is its spill slot, where the function keeps it when
 * it must), the receiver's first.  Whatever the stack maps say is live in
 * that word is a *T.  T's descriptor is found by its name and checked to be
 * of that package path (its UncommonType's PkgPath).
 */
#define FUNCDATA_ARG_INFO 5
#define ARG_INFO_MARKERS 0xfb  /* _offsetTooLarge, _dotdotdot, _endAgg, _startAgg, _endSeq */
#define KIND_STRUCT 25

struct receiver {
	int64_t off;
	uint64_t type;
};
static struct receiver no_receiver;

/* "a/b.(*T).M" -> "a/b.T" in type, and package's length; false for any other name (closures, generics, -fm). */
static bool method_of_pointer(const char *name, char *type, size_t cap, size_t *pkg_len)
{
	const char *open = strstr(name, ".(*"), *close = open ? strchr(open, ')') : NULL;
	if (!open || !close || close[1] != '.' || !close[2] || close - open <= 3)
		return false;
	for (const char *c = open + 3; c < close; c++)
		if (*c == '[' || *c == '.' || *c == '(')
			return false;
	for (const char *c = close + 2; *c; c++)
		if (!(*c == '_' || (*c >= '0' && *c <= '9') || (unsigned)((*c | 0x20) - 'a') < 26 || (unsigned char)*c >= 0x80))
			return false;
	*pkg_len = (size_t)(open - name);
	int n = snprintf(type, cap, "%.*s.%.*s", (int)*pkg_len, name, (int)(close - open - 3), open + 3);
	return n > 0 && (size_t)n < cap;
}

/* Is the struct descriptor at types+off named in package pkg (its UncommonType's PkgPath)? */
static bool struct_of_path(struct go_stripped *st, uint64_t off, const char *pkg)
{
	uint64_t kind, tflag, size;
	int64_t uncommon;
	uint8_t k[2];
	int32_t path;
	struct memdbg_error *err;
	if (!op_member(st, "internal/abi.Type", "Kind_", &kind, NULL) ||
	    !op_member(st, "internal/abi.Type", "TFlag", &tflag, NULL) ||
	    !op_type_size(st, "internal/abi.StructType", &size) || !op_constant(st, "internal/abi.TFlagUncommon", &uncommon))
		return false;
	if ((err = memdbg_read(st->t, st->types + off + kind, &k[0], 1)) ||
	    (err = memdbg_read(st->t, st->types + off + tflag, &k[1], 1)) ||
	    (err = memdbg_read(st->t, st->types + off + size, &path, 4))) {  /* UncommonType.PkgPath, first */
		memdbg_error_destroy(err);
		return false;
	}
	return (k[0] & 31) == KIND_STRUCT && (k[1] & uncommon) && path > 0 &&
	       (uint64_t)path < st->etypes - st->types && name_is(st->t, st->types + (uint64_t)path, pkg);
}

static const struct receiver *find_receiver(struct go_stripped *st, struct go_stack *s, const struct go_func *fn)
{
	char type[MAX_NAME], pkg[MAX_NAME];
	size_t pkg_len;
	uint64_t info = go_func_funcdata(s, fn, FUNCDATA_ARG_INFO), off;
	uint8_t first[2];
	struct memdbg_error *err;
	if (!info || !method_of_pointer(fn->name, type, sizeof(type), &pkg_len))
		return &no_receiver;
	if ((err = memdbg_read(st->t, info, first, sizeof(first)))) {
		memdbg_error_destroy(err);
		return &no_receiver;
	}
	/* The receiver is one word, not an aggregate (_startAgg) nor past what ArgInfo can say. */
	if (first[0] >= ARG_INFO_MARKERS || first[0] % 8 || first[1] != 8)
		return &no_receiver;
	snprintf(pkg, sizeof(pkg), "%.*s", (int)pkg_len, type);
	if (!search_type(st, type, &off) || !struct_of_path(st, off, pkg))
		return &no_receiver;
	struct receiver *r = malloc(sizeof(*r));
	if (r)
		*r = (struct receiver){ first[0], st->types + off };
	return r ? r : &no_receiver;
}

bool go_stripped_receiver(struct go_stripped *st, struct go_stack *s, const struct go_func *fn, int64_t *off,
			  uint64_t *type)
{
	const struct receiver *r = go_map_get(&st->receivers, fn->entry);
	if (!r) {
		r = find_receiver(st, s, fn);
		if (!go_map_put(&st->receivers, fn->entry, (void *)r) && r != &no_receiver) {
			free((void *)r);
			return false;
		}
	}
	*off = r->off;
	*type = r->type;
	return r != &no_receiver;
}

/* ---- names for addresses ---- */

/* The function of the pclntab holding addr, or its section and offset ("bss+0x1a2b0", *off 0). */
static const char *op_name_at(void *arg, uint64_t addr, uint64_t *off, char *buf, size_t len)
{
	struct go_stripped *st = arg;
	addr += st->t->bias;
	const char *fn = func_at(st, addr, off);
	if (fn)
		return fn;
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(st->sections); i++)
		if (addr >= st->sections[i].lo && addr < st->sections[i].hi) {
			snprintf(buf, len, "%s+0x%" PRIx64, st->sections[i].name, addr - st->sections[i].lo);
			*off = 0;
			return buf;
		}
	return NULL;
}

/* ---- opening ---- */

static void op_destroy(void *arg)
{
	struct go_stripped *st = arg;
	free(st->gstores);
	free(st->closures);
	free(st->lstores);
	free(st->args);
	for (size_t i = 0; i < st->receivers.cap; i++)
		if (st->receivers.vals && st->receivers.vals[i] != &no_receiver)
			free(st->receivers.vals[i]);
	go_map_free(&st->receivers);
	free(st);
}

static const struct memdbg_dwarf_ops stripped_ops = {
	.member = op_member,
	.type_size = op_type_size,
	.constant = op_constant,
	.runtime_type = op_runtime_type,
	.variable = op_variable,
	.name_at = op_name_at,
	.destroy = op_destroy,
};

/* "go1.26.8-X:nogreenteagc" -> minor 26 and the experiments' suffix "-X:nogreenteagc". */
static bool split_version(const char *v, unsigned *minor, const char **suffix)
{
	int n = 0;
	if (sscanf(v, "go1.%u%n", minor, &n) != 1)
		return false;
	v += n;
	if (*v == '.')
		for (v++; *v >= '0' && *v <= '9'; v++)
			;
	*suffix = v;
	return true;
}

/* The table's configuration for this version and build mode: exact, or the same minor and experiments. */
static bool choose_config(struct go_stripped *st)
{
	int best = -1, score = 0;
	unsigned minor, cminor;
	const char *x, *cx;
	if (!split_version(st->version, &minor, &x))
		return false;
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(go_table_configs); i++) {
		const struct go_table_config *c = &go_table_configs[i];
		if (!split_version(c->version, &cminor, &cx) || cminor != minor || strcmp(x, cx))
			continue;
		int s = 1 + 2 * (strcmp(c->version, st->version) == 0) + (strcmp(c->buildmode, st->buildmode) == 0);
		if (s > score) {
			score = s;
			best = (int)i;
		}
	}
	if (best < 0)
		return false;
	st->mask = 1u << best;
	snprintf(st->layouts, sizeof(st->layouts), "table of %s (%s)", go_table_configs[best].version,
		 go_table_configs[best].buildmode);
	return true;
}

struct memdbg_error *go_stripped_open(struct memdbg_target *t, char *version, size_t len)
{
	struct go_stripped *st = go_stripped_of(t);
	struct memdbg_error *err = NULL;
	if (st) {
		snprintf(version, len, "%s", st->version);  /* opened before: globals do not move */
		return NULL;
	}
	if (!(st = calloc(1, sizeof(*st))))
		return memdbg_enomem;
	st->t = t;
	if (!find_buildinfo(st))
		err = memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
					  "%s is not a Go program (no DWARF, no runtime.buildVersion, no Go build info)",
					  t->exe_path);
	else if (!choose_config(st))
		err = memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
					  "%s was built by %s (%s) without symbols and DWARF; memdbg has layout tables for "
					  "go1.22 to go1.26 as setup/goversions.txt lists them",
					  t->exe_path, st->version, st->buildmode);
	else if (!find_pclntab(st))
		err = memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "%s: no pclntab (no .gopclntab section, no pcHeader magic)",
					  t->exe_path);
	else if (!find_moduledata(st))
		err = memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
					  "%s: the module data is not in the target (nothing in its data points at the "
					  "pclntab at 0x%" PRIx64 ")", t->exe_path, st->pcln + t->bias);
	else if (!(err = read_moduledata(st)))
		err = find_globals(st);
	if (!err)
		err = memdbg_dwarf_create_ops(&stripped_ops, st, &t->dwarf);
	if (err) {
		free(st);
		return err;
	}
	snprintf(version, len, "%s", st->version);
	return NULL;
}

struct go_stripped *go_stripped_code_open(struct memdbg_target *t)
{
	struct go_stripped *st = calloc(1, sizeof(*st));
	struct memdbg_error *err = NULL;
	if (!st)
		return NULL;
	st->t = t;
	if (find_buildinfo(st) && choose_config(st) && find_pclntab(st) && find_moduledata(st) &&
	    !(err = read_moduledata(st)))
		return st;
	memdbg_error_destroy(err);
	op_destroy(st);
	return NULL;
}

void go_stripped_close(struct go_stripped *st)
{
	if (st)
		op_destroy(st);
}

struct go_stripped *go_stripped_of(const struct memdbg_target *t)
{
	return memdbg_dwarf_ops_arg(t->dwarf, &stripped_ops);
}

const char *go_stripped_found_by(const struct go_stripped *st, const char *name)
{
	for (size_t i = 0; i < st->nglobals; i++)
		if (strcmp(st->globals[i].name, name) == 0)
			return st->globals[i].how;
	return NULL;
}

void go_stripped_sources(const struct go_stripped *st, struct go_stripped_sources *s)
{
	s->pclntab = st->pcln_how;
	s->moduledata = st->md_how;
	s->build_info = st->bi_how;
	s->layouts = st->layouts;
}

void go_stripped_types(const struct go_stripped *st, uint64_t *lo, uint64_t *hi)
{
	*lo = st->types;
	*hi = st->etypes;
}
