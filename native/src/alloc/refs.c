/*
 * refs.c - heap-block and find-refs, for any heap memdbg decodes.
 *
 * find-refs answers from an index built once per target: every aligned
 * word of the target's own memory (a core's dumped segments, or a live
 * process's writable mappings) whose value points into a heap extent or
 * span, as (value, location) pairs sorted by value.  A query is then two
 * binary searches, however large the heap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "alloc/heaps.h"
#include "glibc/gl.h"
#include "go/go.h"
#include "jemalloc/je.h"
#include "tcmalloc/tc.h"

#define CHUNK (1u << 20)
#define BUCKET_BITS 20

struct ref {
	uint64_t value, where;
};

struct range {
	uint64_t lo, hi;
};

struct ref_index {
	struct ref *refs;
	size_t nrefs;
	struct range *ranges;  /* heap extents and spans, merged, sorted */
	size_t nranges;
	uint64_t scanned_bytes;
	/* while building: bucket = (value - base) >> shift */
	uint64_t base;
	unsigned shift;
	size_t *bucket;  /* pass 1: counts; pass 2: next free slot of each bucket */
	size_t *limit;   /* pass 2: one past each bucket's last slot */
	bool placing, overflow;
};

static void index_destroy(void *state)
{
	struct ref_index *x = state;
	free(x->refs);
	free(x->ranges);
	free(x->bucket);
	free(x->limit);
	free(x);
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static struct memdbg_error *add_range(struct ref_index *x, size_t *cap, uint64_t lo, uint64_t hi)
{
	if (x->nranges == *cap) {
		*cap = *cap ? 2 * *cap : 1024;
		struct range *v = realloc(x->ranges, *cap * sizeof(*v));
		if (!v)
			return memdbg_enomem;
		x->ranges = v;
	}
	x->ranges[x->nranges++] = (struct range){ lo, hi };
	return NULL;
}

/* Where heap blocks live: active jemalloc extents, in-use TCMalloc and Go spans. */
static struct memdbg_error *heap_ranges(const struct alloc_heaps *h, struct ref_index *x)
{
	struct memdbg_error *err = NULL;
	size_t cap = 0;
	for (size_t i = 0; h->je && i < h->je->next && !err; i++)
		if (h->je->ext[i].state == JE_ACTIVE)
			err = add_range(x, &cap, h->je->ext[i].base, h->je->ext[i].base + h->je->ext[i].size);
	for (size_t i = 0; h->tc && i < h->tc->nspans && !err; i++) {
		const struct tc_span *s = &h->tc->spans[i];
		if (s->location == TC_IN_USE)
			err = add_range(x, &cap, s->start << h->tc->l->page_shift,
					(s->start + s->npages) << h->tc->l->page_shift);
	}
	for (size_t i = 0; h->gl && i < h->gl->nregions && !err; i++)
		err = add_range(x, &cap, h->gl->regions[i].start, h->gl->regions[i].end);
	for (size_t i = 0; i < h->ngo_spans && !err; i++)
		err = add_range(x, &cap, h->go_spans[i]->start,
				h->go_spans[i]->start + h->go_spans[i]->npages * h->go->l.page_size);
	if (err)
		return err;
	qsort(x->ranges, x->nranges, sizeof(*x->ranges), range_cmp);
	size_t k = 0;
	for (size_t i = 0; i < x->nranges; i++) {
		if (k && x->ranges[i].lo <= x->ranges[k - 1].hi) {
			if (x->ranges[i].hi > x->ranges[k - 1].hi)
				x->ranges[k - 1].hi = x->ranges[i].hi;
		} else {
			x->ranges[k++] = x->ranges[i];
		}
	}
	x->nranges = k;
	return NULL;
}

static bool in_heap(const struct ref_index *x, uint64_t v)
{
	size_t lo = 0, hi = x->nranges;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (x->ranges[mid].hi <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < x->nranges && x->ranges[lo].lo <= v;
}

static void scan_words(struct ref_index *x, uint64_t addr, const uint64_t *w, size_t n)
{
	uint64_t lo = x->ranges[0].lo, hi = x->ranges[x->nranges - 1].hi;
	for (size_t i = 0; i < n; i++) {
		uint64_t v = w[i];
		if (v < lo || v >= hi || !in_heap(x, v))
			continue;
		size_t b = (size_t)((v - x->base) >> x->shift);
		if (!x->placing)
			x->bucket[b]++;
		else if (x->bucket[b] < x->limit[b])
			x->refs[x->bucket[b]++] = (struct ref){ v, addr + 8 * i };
		else
			x->overflow = true;  /* more than counted: the memory changed */
	}
	x->scanned_bytes += n * 8;
}

/*
 * Drop the core's pages just scanned from this process (they stay in the page
 * cache; a later read faults them back in): the mapping is private and read
 * only, so this loses nothing and keeps a full scan from holding the whole
 * core resident.
 */
static void release_pages(const uint8_t *p, size_t len)
{
	uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095, hi = ((uintptr_t)p + len) & ~(uintptr_t)4095;
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* A core: its own segments, read in place (file-backed text and rodata hold no heap pointers). */
static struct memdbg_error *scan_core(struct memdbg_target *t, struct memdbg_printer *p, struct ref_index *x)
{
	uint64_t *buf = malloc(CHUNK);
	struct memdbg_error *err = buf ? NULL : memdbg_enomem;
	for (size_t i = 0; i < t->nsegs && !err; i++) {
		const struct memdbg_segment *s = &t->segs[i];
		if (!s->data || s->from_file)
			continue;
		uint64_t start = (s->start + 7) & ~7ull;
		for (uint64_t a = start; a + 8 <= s->end && !err; a += CHUNK) {
			if ((err = memdbg_check_interrupt(p)))
				break;
			size_t n = (size_t)((s->end - a < CHUNK ? s->end - a : CHUNK) / 8);
			const uint8_t *src = s->data + (a - s->start);
			if ((uintptr_t)src % 8 == 0) {
				scan_words(x, a, (const uint64_t *)(const void *)src, n);
			} else {
				memcpy(buf, src, n * 8);
				scan_words(x, a, buf, n);
			}
			release_pages(src, n * 8);
		}
	}
	free(buf);
	return err;
}

struct live_scan {
	struct memdbg_target *t;
	struct memdbg_printer *p;
	struct ref_index *x;
	uint64_t *buf;
};

/* One writable mapping of a live process, page by page where a chunk fails. */
static struct memdbg_error *scan_live_region(void *arg, uint64_t lo, uint64_t hi, bool anon)
{
	struct live_scan *ls = arg;
	struct memdbg_error *err = NULL;
	for (uint64_t a = lo; a < hi && !err; a += CHUNK) {
		size_t len = hi - a < CHUNK ? (size_t)(hi - a) : CHUNK;
		if ((err = memdbg_check_interrupt(ls->p)))
			break;
		if (alloc_read(ls->t, a, ls->buf, len)) {
			scan_words(ls->x, a, ls->buf, len / 8);
			continue;
		}
		for (size_t off = 0; off < len; off += 4096)
			if (alloc_read(ls->t, a + off, ls->buf, 4096))
				scan_words(ls->x, a + off, ls->buf, 512);
	}
	return err;
}

static struct memdbg_error *scan_live(struct memdbg_target *t, struct memdbg_printer *p, struct ref_index *x)
{
	struct live_scan ls = { t, p, x, malloc(CHUNK) };
	if (!ls.buf)
		return memdbg_enomem;
	struct memdbg_error *err = memdbg_target_data_regions(t, scan_live_region, &ls);
	free(ls.buf);
	return err;
}

static int ref_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return x->where < y->where ? -1 : x->where > y->where;
}

/* Each bucket holds a narrow range of values; sort within it. */
static void sort_buckets(struct ref_index *x, size_t nbuckets)
{
	size_t start = 0;
	for (size_t b = 0; b < nbuckets; b++) {
		size_t end = x->bucket[b];  /* after placing: one past the bucket's last slot */
		struct ref *r = x->refs + start;
		size_t n = end - start;
		if (n > 32) {
			qsort(r, n, sizeof(*r), ref_cmp);
		} else {
			for (size_t i = 1; i < n; i++) {
				struct ref k = r[i];
				size_t j = i;
				for (; j > 0 && ref_cmp(&r[j - 1], &k) > 0; j--)
					r[j] = r[j - 1];
				r[j] = k;
			}
		}
		start = end;
	}
}

static struct memdbg_error *scan(struct memdbg_target *t, struct memdbg_printer *p, struct ref_index *x)
{
	x->scanned_bytes = 0;
	return t->live ? scan_live(t, p, x) : scan_core(t, p, x);
}

/* Count, size the index exactly, place, sort the buckets. */
static struct memdbg_error *build_index(struct memdbg_target *t, struct memdbg_printer *p, struct ref_index *x)
{
	x->base = x->ranges[0].lo;
	uint64_t span = x->ranges[x->nranges - 1].hi - x->base;
	while ((span >> x->shift) >= (1ull << BUCKET_BITS))
		x->shift++;
	size_t nbuckets = (size_t)(span >> x->shift) + 1;
	x->bucket = calloc(nbuckets, sizeof(*x->bucket));
	if (!x->bucket)
		return memdbg_enomem;
	struct memdbg_error *err = scan(t, p, x);
	if (err)
		return err;
	size_t sum = 0;
	for (size_t b = 0; b < nbuckets; b++) {
		size_t c = x->bucket[b];
		x->bucket[b] = sum;
		sum += c;
	}
	x->nrefs = sum;
	x->refs = malloc((sum ? sum : 1) * sizeof(*x->refs));
	x->limit = malloc(nbuckets * sizeof(*x->limit));
	if (!x->refs || !x->limit)
		return memdbg_enomem;
	for (size_t b = 0; b < nbuckets; b++)
		x->limit[b] = b + 1 < nbuckets ? x->bucket[b + 1] : sum;
	x->placing = true;
	if ((err = scan(t, p, x)))
		return err;
	/* A live process that changed between the passes leaves a bucket short or over. */
	for (size_t b = 0; b < nbuckets && !x->overflow; b++)
		x->overflow = x->bucket[b] != x->limit[b];
	if (x->overflow)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "the target's memory changed while it was indexed");
	sort_buckets(x, nbuckets);
	free(x->bucket);
	free(x->limit);
	x->bucket = x->limit = NULL;
	return NULL;
}

struct index_args {
	struct memdbg_printer *p;
	const struct alloc_heaps *h;
};

static struct memdbg_error *index_build(struct memdbg_target *t, void *x, void *arg)
{
	const struct index_args *a = arg;
	struct ref_index *index = x;
	struct memdbg_error *err = heap_ranges(a->h, index);
	if (!err && index->nranges)
		err = build_index(t, a->p, index);
	return err;
}

static struct memdbg_error *index_get(struct memdbg_target *t, struct memdbg_printer *p, const struct alloc_heaps *h,
				      struct ref_index **ret)
{
	struct index_args a = { p, h };
	return memdbg_target_cache_build(t, MEMDBG_CACHE_REFS, sizeof(**ret), index_build, &a, index_destroy,
					 (void **)ret);
}

/* ---- arguments ---- */

static void block_fields(struct memdbg_printer *p, uint64_t addr, const struct alloc_block *b)
{
	memdbg_field_hex(p, "address", addr);
	if (b->heap)
		memdbg_field_str(p, "heap", b->heap);
	else
		memdbg_field_null(p, "heap");
	memdbg_field_hex(p, "start", b->start);
	memdbg_field_u64(p, "size", b->size);
	memdbg_field_u64(p, "offset", addr - b->start);
	memdbg_field_str(p, "state", alloc_state_name(b->state));
	memdbg_field_str(p, "detail", b->detail);
}

/* ---- heap-block ---- */

static struct memdbg_error *run_heap_block(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	uint64_t addr;
	struct alloc_heaps h;
	struct memdbg_error *err = memdbg_arg_address(a, &addr);
	if (err || (err = alloc_heaps_open(t, p, &h)))
		return err;
	struct alloc_block b;
	bool found;
	err = alloc_resolve(t, &h, addr, &b, &found);
	if (!err && !found)
		err = memdbg_error_format(MEMDBG_ERROR_LOOKUP, "0x%" PRIx64 " is in no heap block (searched:%s%s%s%s)",
					  addr, h.je ? " jemalloc" : "", h.tc ? " TCMalloc" : "", h.gl ? " glibc" : "",
					  h.go ? " Go" : "");
	if (!err)
		block_fields(p, addr, &b);
	alloc_heaps_close(&h);
	return err;
}

/* ---- find-refs ---- */

/* What holds a reference: a heap block, a mapped file's data, or anonymous memory (stacks, mmaps). */
static void describe(struct memdbg_target *t, const struct alloc_heaps *h, uint64_t where, char *out, size_t len)
{
	if (alloc_block_name(t, h, where, out, len))
		return;
	uint64_t off;
	char buf[64];
	const char *sym = memdbg_target_symbol_at(t, where, &off, buf, sizeof(buf));
	if (sym) {
		snprintf(out, len, "%s+0x%" PRIx64, sym, off);
		return;
	}
	const struct memdbg_mapping *maps;
	size_t n;
	if (!memdbg_target_mappings(t, &maps, &n)) {
		for (size_t i = 0; i < n; i++) {
			if (where >= maps[i].start && where < maps[i].end) {
				const char *base = strrchr(maps[i].path, '/');
				snprintf(out, len, "%s", base ? base + 1 : maps[i].path);
				return;
			}
		}
	}
	snprintf(out, len, "anonymous");
}

static struct memdbg_error *run_find_refs(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	uint64_t addr, limit;
	struct alloc_heaps h;
	struct memdbg_error *err = memdbg_arg_address(a, &addr);
	if (err || (err = memdbg_arg_u64(a, "--limit", 100, UINT64_MAX, &limit)) || (err = alloc_heaps_open(t, p, &h)))
		return err;
	struct alloc_block b;
	bool found;
	struct ref_index *x;
	if ((err = alloc_resolve(t, &h, addr, &b, &found)) || (err = index_get(t, p, &h, &x))) {
		alloc_heaps_close(&h);
		return err;
	}
	if (!found) {
		memset(&b, 0, sizeof(b));
		b.start = addr;
		b.size = 1;
		b.heap = NULL;
		snprintf(b.detail, sizeof(b.detail), "not in a heap block: references to this address only");
	}
	memdbg_begin_object(p, "block", "Block");
	block_fields(p, addr, &b);
	if (!found)
		memdbg_field_null(p, "state");
	memdbg_end_object(p);
	/* First ref whose value is >= the block's start. */
	size_t lo = 0, hi = x->nrefs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (x->refs[mid].value < b.start)
			lo = mid + 1;
		else
			hi = mid;
	}
	static const struct memdbg_col cols[] = {
		{ "address", MEMDBG_COL_HEX, 14 },
		{ "value", MEMDBG_COL_HEX, 14 },
		{ "offset", MEMDBG_COL_U64, 6 },
		{ "holder", MEMDBG_COL_STR, -1 },
	};
	uint64_t total = 0;
	memdbg_table_begin(p, "refs", cols, MEMDBG_ARRAY_SIZE(cols));
	for (size_t i = lo; i < x->nrefs && x->refs[i].value < b.start + b.size; i++, total++) {
		if (total >= limit)
			continue;
		char holder[PATH_MAX + 64];
		describe(t, &h, x->refs[i].where, holder, sizeof(holder));
		struct memdbg_val v[4] = { { .u = x->refs[i].where }, { .u = x->refs[i].value },
					   { .u = x->refs[i].value - b.start }, { .s = holder } };
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	memdbg_begin_object(p, "totals", "Totals");
	memdbg_field_u64(p, "refs", total);
	memdbg_field_u64(p, "shown", total < limit ? total : limit);
	memdbg_field_u64(p, "indexed_pointers", x->nrefs);
	memdbg_field_u64(p, "scanned_bytes", x->scanned_bytes);
	memdbg_end_object(p);
	alloc_heaps_close(&h);
	return NULL;
}

/* ---- the table rows ---- */

const struct memdbg_command memdbg_cmd_heap_block = {
	.info = {
		.name = "heap-block",
		.summary = "the heap block holding an address, in whichever heap has it (jemalloc, TCMalloc, glibc, Go)",
		.usage = "heap-block ADDR [--json]",
		.help = "state is allocated, free, or cached (in an allocator's thread or transfer cache: free\n"
			"to the program).  detail names the extent, slab or span and the size class.",
	},
	.max_args = 1,
	.needs_target = true,
	.run = run_heap_block,
};

static const struct memdbg_opt find_refs_opts[] = {
	{ "--limit", "N", "list at most N references (default 100; the total still counts all)" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_find_refs = {
	.info = {
		.name = "find-refs",
		.summary = "every word in the target that points into the block holding an address",
		.usage = "find-refs ADDR [--limit N] [--json]",
		.help = "The first find-refs on a target indexes every aligned word of its memory (a core's own\n"
			"segments, a live process's writable mappings) that points into a heap; later queries\n"
			"on the same core use the index.  Interior pointers count.  holder is the heap block\n"
			"(with its state: free blocks may hold stale pointers), the mapped file, or anonymous\n"
			"memory (stacks, other mappings).",
	},
	.opts = find_refs_opts,
	.max_args = 1,
	.needs_target = true,
	.run = run_find_refs,
};
