/* spans.c - every mspan of mheap_.allspans, decoded once per target. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/go.h"

/* allspans holds every span ever created; 2^26 of them would describe > 512 GiB. */
#define MAX_SPANS (1u << 26)
#define MAX_NELEMS 65536

static uint64_t field(const uint8_t *buf, uint64_t off, uint64_t size)
{
	uint64_t v = 0;
	memcpy(&v, buf + off, size);  /* little-endian target */
	return v;
}

static void decode_span(const struct go_layout *l, const uint8_t *buf, struct go_span *s)
{
	s->start = field(buf, l->sp_start, 8);
	s->npages = field(buf, l->sp_npages, 8);
	s->elemsize = field(buf, l->sp_elemsize, 8);
	s->sweepgen = (uint32_t)field(buf, l->sp_sweepgen, 4);
	s->nelems = (uint16_t)field(buf, l->sp_nelems, l->sp_nelems_size);
	s->freeindex = (uint16_t)field(buf, l->sp_freeindex, l->sp_freeindex_size);
	s->alloc_count = (uint16_t)field(buf, l->sp_alloc_count, 2);
	s->spanclass = (uint8_t)field(buf, l->sp_spanclass, 1);
	s->state = (uint8_t)field(buf, l->sp_state, 1);
	s->alloc_bits = field(buf, l->sp_alloc_bits, 8);
}

/* Allocated slots: those below freeindex, and those set in allocBits. */
static void count_allocated(struct memdbg_target *t, const struct memdbg_go *go, struct go_span *s)
{
	s->bits_readable = false;
	s->allocated = 0;
	if (s->state != go->l.span_in_use || s->nelems == 0)
		return;
	uint8_t bits[MAX_NELEMS / 8];
	size_t nbytes = ((size_t)s->nelems + 7) / 8;
	struct memdbg_error *err = memdbg_read(t, s->alloc_bits, bits, nbytes);
	if (err) {
		/* Counted by the caller through bits_readable; the walk goes on. */
		memdbg_error_destroy(err);
		return;
	}
	uint32_t n = 0;
	for (uint32_t i = 0; i < s->nelems; i++)
		if (i < s->freeindex || (bits[i / 8] >> (i % 8)) & 1)
			n++;
	s->allocated = n;
	s->bits_readable = true;
}

/* The heap's arenas (mheap_.allArenas, sorted), against which spans are held. */
struct heap_range {
	const uint64_t *idx;
	size_t n;
	bool known;  /* the arena list was read */
};

/*
 * What must hold of an mspan in allspans, or NULL; why not, into why.
 * - A dead span's struct is recycled by the fixalloc: its fields mean nothing.
 * - An in-use or manual (stack) span covers npages >= 1 pages, all of them heap
 *   memory: every page of [start, start + npages pages) lies in one of
 *   mheap_.allArenas (a large span may run across adjacent arenas, never
 *   across a hole), so npages is at most the arenas' pages.
 * - An in-use span's slots fit it (nelems * elemsize <= its bytes, freeindex <=
 *   nelems); a small one's elemsize is its class's (class_to_size: initSpan sets
 *   it before the state turns in-use), and its class is one of the table's.
 */
static bool span_plausible(const struct memdbg_go *go, const struct heap_range *hr, const struct go_span *s,
			   char *why, size_t size)
{
	const struct go_layout *l = &go->l;
	if (s->state == l->span_dead)
		return true;
	if (s->state != l->span_in_use && s->state != l->span_manual) {
		snprintf(why, size, "state %u is none of the runtime's", s->state);
		return false;
	}
	if (s->npages == 0 || s->npages > (UINT64_MAX / l->page_size) || s->start + s->npages * l->page_size < s->start) {
		snprintf(why, size, "npages %" PRIu64 " at start 0x%" PRIx64 " is no span", s->npages, s->start);
		return false;
	}
	if (hr->known && l->arena_bytes) {
		uint64_t arena_pages = l->arena_bytes / l->page_size;
		if (s->npages > (uint64_t)hr->n * arena_pages) {
			snprintf(why, size, "npages %" PRIu64 " is more than the %zu heap arenas hold (%" PRIu64 " pages)",
				 s->npages, hr->n, (uint64_t)hr->n * arena_pages);
			return false;
		}
		/* At most n + 1 steps: the bytes are bounded by the arenas' just above. */
		uint64_t end = s->start + s->npages * l->page_size;
		for (uint64_t a = s->start; a < end;) {
			if (go_arena_find(go, hr->idx, hr->n, a) == hr->n) {
				snprintf(why, size, "pages [0x%" PRIx64 ", 0x%" PRIx64 ") (npages %" PRIu64
					 ") reach 0x%" PRIx64 ", in no heap arena", s->start, end, s->npages, a);
				return false;
			}
			uint64_t next = ((a - l->arena_base_offset) / l->arena_bytes + 1) * l->arena_bytes +
					l->arena_base_offset;
			if (next <= a)
				break;
			a = next;
		}
	}
	if (s->state != l->span_in_use)
		return true;
	if (s->nelems && (s->elemsize == 0 || (uint64_t)s->nelems * s->elemsize > s->npages * l->page_size ||
			  s->freeindex > s->nelems)) {
		snprintf(why, size, "%u slots of %" PRIu64 " bytes (freeindex %u) do not fit %" PRIu64 " pages",
			 s->nelems, s->elemsize, s->freeindex, s->npages);
		return false;
	}
	unsigned cls = go_size_class(s->spanclass);
	if (go->class_to_size && cls >= l->num_size_classes) {
		snprintf(why, size, "size class %u of %" PRIu64, cls, l->num_size_classes);
		return false;
	}
	if (go->class_to_size && cls && s->elemsize != go->class_to_size[cls]) {
		snprintf(why, size, "elemsize %" PRIu64 " is not size class %u's %u bytes", s->elemsize, cls,
			 go->class_to_size[cls]);
		return false;
	}
	return true;
}

/* Every command that uses the spans says what in them was damaged. */
static void report_spans(const struct memdbg_go *go, struct memdbg_printer *p)
{
	if (!p)
		return;
	if (go->spans_inconsistent)
		memdbg_damaged(p, "%zu mspans in runtime.mheap_.allspans contradict the heap (left out); the first, %s",
			       go->spans_inconsistent, go->spans_damage);
	if (!go->nspans && !go->spans_unreadable)
		memdbg_damaged(p, "runtime.mheap_.allspans at 0x%" PRIx64 " is empty: a running Go program has spans",
			       go->sym.mheap + go->l.mh_allspans);
}

static const struct go_span *mspan_cmp_spans;

static int mspan_cmp(const void *a, const void *b)
{
	uint64_t x = mspan_cmp_spans[*(const uint32_t *)a].addr, y = mspan_cmp_spans[*(const uint32_t *)b].addr;
	return x < y ? -1 : x > y;
}

const struct go_span *go_span_by_mspan(const struct memdbg_go *go, uint64_t addr)
{
	size_t lo = 0, hi = go->nspans;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct go_span *s = &go->spans[go->by_mspan[mid]];
		if (s->addr == addr)
			return s;
		if (s->addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct memdbg_error *memdbg_go_load_spans(struct memdbg_target *t, struct memdbg_go *go, struct memdbg_printer *p)
{
	if (go->spans_loaded) {
		report_spans(go, p);
		return NULL;
	}
	const struct go_layout *l = &go->l;
	uint64_t array, len;
	struct memdbg_error *err = go_read_slice(t, go->sym.mheap + l->mh_allspans, &array, &len);
	if (err)
		return memdbg_error_prefix(err, "reading runtime.mheap_.allspans");
	if (len > MAX_SPANS)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "runtime.mheap_.allspans has %" PRIu64 " entries", len);
	uint64_t *ptrs = malloc((len ? len : 1) * sizeof(*ptrs));
	struct go_span *spans = calloc(len ? len : 1, sizeof(*spans));
	uint8_t *buf = malloc(l->mspan_size);
	uint64_t *arenas = NULL;
	if (!ptrs || !spans || !buf) {
		err = memdbg_enomem;
		goto out;
	}
	if ((err = memdbg_read(t, array, ptrs, len * sizeof(*ptrs)))) {
		err = memdbg_error_prefix(err, "reading the allspans array");
		goto out;
	}
	struct heap_range hr = { 0 };
	size_t narenas = 0;
	struct memdbg_error *ae = go_heap_arenas(t, go, &arenas, &narenas);
	if (ae)
		memdbg_error_destroy(ae);  /* the spans are not held against the arenas; go-info says why */
	else
		hr = (struct heap_range){ arenas, narenas, true };
	size_t n = 0, unreadable = 0, inconsistent = 0;
	for (uint64_t i = 0; i < len; i++) {
		if ((err = memdbg_check_interrupt(p)))
			goto out;
		struct memdbg_error *e = memdbg_read(t, ptrs[i], buf, l->mspan_size);
		if (e) {
			memdbg_error_destroy(e);
			unreadable++;
			continue;
		}
		struct go_span *s = &spans[n];
		s->addr = ptrs[i];
		decode_span(l, buf, s);
		char why[200];
		if (!span_plausible(go, &hr, s, why, sizeof(why))) {
			if (!inconsistent++)
				snprintf(go->spans_damage, sizeof(go->spans_damage), "mspan 0x%" PRIx64 " (allspans[%" PRIu64
					 "]): %s", s->addr, i, why);
			continue;
		}
		count_allocated(t, go, s);
		n++;
	}
	uint32_t *by_mspan = malloc((n ? n : 1) * sizeof(*by_mspan));
	if (!by_mspan) {
		err = memdbg_enomem;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		by_mspan[i] = (uint32_t)i;
	mspan_cmp_spans = spans;
	qsort(by_mspan, n, sizeof(*by_mspan), mspan_cmp);
	go->by_mspan = by_mspan;
	go->spans = spans;
	go->nspans = n;
	go->spans_unreadable = unreadable;
	go->spans_inconsistent = inconsistent;
	go->spans_loaded = true;
	spans = NULL;
	report_spans(go, p);
out:
	free(arenas);
	free(ptrs);
	free(spans);
	free(buf);
	return err;
}
