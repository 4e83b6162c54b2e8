/*
 * objects.c - the object graph: every allocated slot of every in-use span,
 * its pointers from the runtime's own maps (span heap bits, malloc headers,
 * largeType), its type (exact from headers, then propagated along typed
 * pointers from typed roots), the GC roots, and our own mark from them.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/objects.h"
#include "go/stack.h"
#include "go/stripped.h"
#include "go/types.h"

#define MALLOC_HEADER 8
#define MAX_SPECIALS 1000000
#define MAX_WALK_DEPTH 24
#define MAX_ARRAY_WALK (1u << 24)
#define TYPE_CACHE 64  /* builder's recent_types: a power of two */

struct obj_layout {
	uint64_t min_header_size;  /* objects larger than this carry a malloc header */
	uint64_t inline_marks;     /* sizeof(spanInlineMarkBits) on Green Tea, else 0 */
	uint64_t sp_large_type, sp_limit, sp_specials;
	uint64_t special_next, special_offset, special_offset_size, special_kind;
	uint64_t fin_fn, kind_finalizer, kind_weak, kind_cleanup, cleanup_fn;
	bool has_cleanup, has_weak;
	uint64_t weak_handle;
	uint64_t md_data, md_edata, md_bss, md_ebss, md_gcdatamask, md_gcbssmask, bv_n, bv_bytedata;
	uint64_t g_stack_hi, g_sched_sp;
	uint64_t hchan_buf, hchan_qsize, hmap_buckets, hmap_oldbuckets, hmap_b, smap_dir, smap_dirlen, smap_used,
		table_data, table_mask, table_used;
	uint64_t hchan_type, hmap_type, smap_type, table_type, table_ptr_type;
	uint64_t timer_period;
	struct embedding {
		uint64_t member, container, offset;  /* runtime types; member's offset in container */
		bool periodic;                        /* only for timers whose period is set (tickers) */
	} embedded[3];
	size_t nembedded;
};

/* Everything the build needs, in one place. */
struct builder {
	struct memdbg_target *t;
	struct memdbg_go *go;
	struct go_objects *o;
	struct obj_layout l;
	struct memdbg_printer *p;
	uint32_t *queue;  /* objects to scan (mark) or to type-walk */
	size_t qhead, qtail, qcap;
	uint64_t globals_lo, globals_hi;  /* the module's data and bss */
	struct go_map globals_walked;     /* data and bss addresses walked through typed pointers -> type */
	int globals_depth;                /* such walks in progress, one inside another */
	struct global_name *gnames;
	size_t ngnames;
	struct global_name *gparts;  /* members of globals typed apart (memdbg_global.part): types, not names */
	size_t ngparts;
	char **pool_names;  /* without DWARF: the sync.Pool globals' section names */
	size_t npool_names;
	const char *root_name;  /* for_each_pointer callbacks that add roots */
	enum go_root_kind root_kind;
	struct memdbg_error *root_err;
	const struct pointer_visit *visit;  /* go_object_pointers' callback */
	struct typed_slot *typed;  /* stack variables with a runtime type, typed after marking */
	size_t ntyped, typed_cap;
	const struct go_local_store *code_locals;  /* without DWARF: the frames' slots the code types */
	size_t ncode_locals;
	struct go_global_store *code_slots;  /* the live locals in one of them, typed last */
	size_t ncode_slots, code_slots_cap;
	uint64_t sudog_type, sudog_g;  /* without DWARF: runtime.sudog's descriptor (0: none) and its g's offset */
	enum go_type_src phase;  /* what a typed word outside the heap is: a global, a stack variable, ... */
	struct root_word {
		uint64_t addr;
		uint32_t root;
	} *roots_by_addr;  /* roots in the order of the words that hold them */
	const struct go_heap_span *from_span;  /* where the last typed word was */
	uint64_t types_base;        /* runtime.types */
	uint64_t text_lo, text_hi;  /* runtime.text .. runtime.etext: where closure code pointers point */
	bool stripped;              /* no DWARF: a closure's layout is its context type, from the code */
	const struct go_closure_type *closure_types;  /* by entry */
	size_t nclosure_types;
	bool code_closures;  /* with DWARF: closure_types loaded, from the code (load_code_closure_types) */
	struct trie_node {
		uint64_t node, entry, indirect;  /* a HashTrieMap's node[K,V] and the two types that begin with one */
	} trie_nodes[8];
	size_t ntrie_nodes;
	/* the object being typed, mapped once: its words need no segment search */
	uint64_t win_lo, win_hi;
	const uint8_t *win_data;
	/* decoded types met lately, by address (TYPE_CACHE of them; NULL outside the build): a probe
	 * of the shared table per field costs more */
	struct recent_type {
		uint64_t addr;
		const struct go_type *ty;
	} *recent_types;
	struct typing_log *log;  /* a batch's walk on the pool: steps are recorded here, taken later (NULL: now) */
};

/*
 * Typing on the pool (propagate_types): a batch of queued objects is walked
 * on every thread, each walk recording its steps instead of taking them;
 * the records are then taken on one thread in queue order.  A step that reads
 * what other steps write (an object's type, the globals walked, the trie
 * cache) is recorded whole and taken then; the rest of a walk reads only the
 * core and the types.  An object whose type changed before its turn is walked
 * again then, so every batch gives what one thread gives.
 */
enum typing_step_kind { STEP_ASSIGN, STEP_POINTEE, STEP_CLOSURE, STEP_OUTSIDE, STEP_TINY, STEP_POOL };

/* gc_accepts' answer for an object untyped when walked, taken if it is still untyped in its turn */
enum gc_verdict { GC_UNASKED, GC_ACCEPTS, GC_REFUSES };

struct typing_step {
	const struct go_type *ty;
	const char *label;  /* a type's name or a constant: outlives the batch */
	uint64_t id, count, v, from;  /* STEP_ASSIGN's v: the count gc_accepts set, if it accepts */
	enum typing_step_kind kind;
	enum gc_verdict gc;
};

/* One queued object's walk in a batch. */
struct typed_walk {
	uint32_t id, otype;  /* the object, and its type when it was walked */
	uint32_t nsteps, bad_types;
	bool redo;  /* its steps did not fit in the log: walk it again in its turn */
};

/* One chunk of a batch: its walks' steps, in order. */
struct typing_log {
	struct typing_step *steps;
	size_t nsteps, cap;
	uint32_t bad_types;  /* type_at's failures in the walk being recorded */
	bool full;
};

/* go_object_pointers' callback, and marking's */
struct pointer_visit {
	void (*fn)(void *arg, uint64_t slot, uint64_t value);
	void *arg;
};
static void visit_pointer(struct builder *b, uint64_t slot, uint64_t v);

struct typed_slot {
	uint64_t addr, type, count_addr;  /* count_addr: where a slice's capacity is */
	int shape;
};

/* A DWARF variable of a frame with live slots: where it is at the frame's pc, and its type. */
struct stack_var {
	uint64_t addr, size, runtime_type, count_addr;  /* count_addr: where a slice's capacity is */
	const char *name;
	uint32_t frame;  /* the frame's depth */
	int shape;
	bool has_type;
};

/* One goroutine's stack being scanned. */
struct frame_scan {
	struct builder *b;
	struct go_stack *s;
	const struct go_goroutine *g;
	uint64_t types_base;        /* runtime.types, 0 when unknown */
	const struct go_frame *f;   /* the frame note_frame_var is loading */
	struct stack_var *vars;     /* the variables of every frame loaded so far */
	size_t nvars, vars_cap;
	struct go_map frames;       /* depth + 1 -> index + 1 of the frame's first variable */
	uint64_t *live;             /* precise slots, sorted at the end */
	size_t nlive, live_cap;
	struct memdbg_error *err;
};

struct global_name {
	uint64_t addr, size, runtime_type;
	const char *name, *type_name;
	bool has_type;
	int shape;
};

/* ---- the heap index ---- */

/* The allocated object containing addr, as a dense id. */
bool go_object_at(const struct go_objects *o, uint64_t addr, uint64_t *id)
{
	const struct go_heap_span *s;
	uint64_t slot;
	if (!go_find_object(o, addr, &s, &slot))
		return false;
	*id = s->first + slot;
	return go_bit(o->alloc, *id);
}

uint64_t go_id_addr(const struct go_heap_span *s, uint64_t id)
{
	return s->start + (id - s->first) * s->elemsize;
}

static int heap_span_cmp(const void *a, const void *b)
{
	const struct go_heap_span *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Runtime values allocated inside a bigger object and reached only through
 * pointers to their own start: the P's timer heaps (runtime.allp -> p.timers)
 * and a timer channel's hchan.timer point at the runtime.timer inside
 * package time's timers.  go1.23+: newTimer allocates runtime.timeTimer
 * {c, init, timer}; go1.22: package time allocates Timer or Ticker
 * {C, r runtimeTimer}, a ticker's timer being the one with a period.
 */
static void load_embeddings(struct builder *b)
{
	static const struct {
		const char *container, *field;
		bool periodic;
	} known[] = { { "runtime.timeTimer", "timer", false }, { "time.Timer", "r", false }, { "time.Ticker", "r", true } };
	struct obj_layout *l = &b->l;
	uint64_t timer = go_type_by_name(b->t, b->go, "runtime.timer");
	if (!timer || !memdbg_dwarf_member(b->t->dwarf, "runtime.timer", "period", &l->timer_period, NULL))
		return;
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(known) && l->nembedded < MEMDBG_ARRAY_SIZE(l->embedded); i++) {
		struct embedding *e = &l->embedded[l->nembedded];
		e->member = timer;
		e->periodic = known[i].periodic;
		e->container = go_type_by_name(b->t, b->go, known[i].container);
		if (e->container && memdbg_dwarf_member(b->t->dwarf, known[i].container, known[i].field, &e->offset, NULL) &&
		    e->offset)
			l->nembedded++;
	}
}

static struct memdbg_error *load_layout(struct builder *b)
{
	struct memdbg_dwarf *d = b->t->dwarf;
	struct obj_layout *l = &b->l;
	int64_t v;
	if (!memdbg_dwarf_const(d, "runtime.minSizeForMallocHeader", &v) &&
	    !memdbg_dwarf_const(d, "internal/runtime/gc.MinSizeForMallocHeader", &v))
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s: minSizeForMallocHeader not in DWARF",
					   b->go->version);
	l->min_header_size = (uint64_t)v;
	if (b->go->l.green_tea)
		memdbg_dwarf_type_size(d, "runtime.spanInlineMarkBits", &l->inline_marks);
	bool ok = memdbg_dwarf_member(d, "runtime.mspan", "largeType", &l->sp_large_type, NULL) &&
		  memdbg_dwarf_member(d, "runtime.mspan", "limit", &l->sp_limit, NULL) &&
		  memdbg_dwarf_member(d, "runtime.mspan", "specials", &l->sp_specials, NULL) &&
		  memdbg_dwarf_member(d, "runtime.special", "next", &l->special_next, NULL) &&
		  memdbg_dwarf_member(d, "runtime.special", "offset", &l->special_offset, &l->special_offset_size) &&
		  memdbg_dwarf_member(d, "runtime.special", "kind", &l->special_kind, NULL) &&
		  memdbg_dwarf_member(d, "runtime.specialfinalizer", "fn", &l->fin_fn, NULL) &&
		  memdbg_dwarf_const(d, "runtime._KindSpecialFinalizer", &v);
	l->kind_finalizer = (uint64_t)v;
	ok = ok && memdbg_dwarf_member(d, "runtime.moduledata", "data", &l->md_data, NULL) &&
	     memdbg_dwarf_member(d, "runtime.moduledata", "edata", &l->md_edata, NULL) &&
	     memdbg_dwarf_member(d, "runtime.moduledata", "bss", &l->md_bss, NULL) &&
	     memdbg_dwarf_member(d, "runtime.moduledata", "ebss", &l->md_ebss, NULL) &&
	     memdbg_dwarf_member(d, "runtime.moduledata", "gcdatamask", &l->md_gcdatamask, NULL) &&
	     memdbg_dwarf_member(d, "runtime.moduledata", "gcbssmask", &l->md_gcbssmask, NULL) &&
	     memdbg_dwarf_member(d, "runtime.bitvector", "n", &l->bv_n, NULL) &&
	     memdbg_dwarf_member(d, "runtime.bitvector", "bytedata", &l->bv_bytedata, NULL) &&
	     memdbg_dwarf_member(d, "runtime.g", "stack.hi", &l->g_stack_hi, NULL) &&
	     memdbg_dwarf_member(d, "runtime.g", "sched.sp", &l->g_sched_sp, NULL) &&
	     memdbg_dwarf_member(d, "runtime.hchan", "buf", &l->hchan_buf, NULL) &&
	     memdbg_dwarf_member(d, "runtime.hchan", "dataqsiz", &l->hchan_qsize, NULL);
	if (!ok)
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s: heap object layouts missing from DWARF",
					   b->go->version);
	/* Kinds that only some versions have: cleanups since go1.24 (fn moved into cleanup in go1.26). */
	l->has_cleanup = memdbg_dwarf_const(d, "runtime._KindSpecialCleanup", &v) &&
			 (memdbg_dwarf_member(d, "runtime.specialCleanup", "fn", &l->cleanup_fn, NULL) ||
			  memdbg_dwarf_member(d, "runtime.specialCleanup", "cleanup.fn", &l->cleanup_fn, NULL));
	l->kind_cleanup = l->has_cleanup ? (uint64_t)v : 0;
	l->has_weak = memdbg_dwarf_const(d, "runtime._KindSpecialWeakHandle", &v) &&
		      memdbg_dwarf_member(d, "runtime.specialWeakHandle", "handle", &l->weak_handle, NULL);
	l->kind_weak = l->has_weak ? (uint64_t)v : 0;
	/* Map internals for typing their pieces: buckets up to go1.23, swiss tables since go1.24. */
	if (go_swiss_maps(b->t, b->go)) {
		memdbg_dwarf_member(d, "internal/runtime/maps.Map", "dirPtr", &l->smap_dir, NULL);
		memdbg_dwarf_member(d, "internal/runtime/maps.Map", "dirLen", &l->smap_dirlen, NULL);
		memdbg_dwarf_member(d, "internal/runtime/maps.Map", "used", &l->smap_used, NULL);
		memdbg_dwarf_member(d, "internal/runtime/maps.table", "used", &l->table_used, NULL);
		memdbg_dwarf_member(d, "internal/runtime/maps.table", "groups.data", &l->table_data, NULL);
		memdbg_dwarf_member(d, "internal/runtime/maps.table", "groups.lengthMask", &l->table_mask, NULL);
		l->smap_type = go_type_by_name(b->t, b->go, "internal/runtime/maps.Map");
		l->table_type = go_type_by_name(b->t, b->go, "internal/runtime/maps.table");
		l->table_ptr_type = go_type_by_name(b->t, b->go, "*internal/runtime/maps.table");
	} else {
		memdbg_dwarf_member(d, "runtime.hmap", "buckets", &l->hmap_buckets, NULL);
		memdbg_dwarf_member(d, "runtime.hmap", "oldbuckets", &l->hmap_oldbuckets, NULL);
		memdbg_dwarf_member(d, "runtime.hmap", "B", &l->hmap_b, NULL);
		l->hmap_type = go_type_by_name(b->t, b->go, "runtime.hmap");
	}
	l->hchan_type = go_type_by_name(b->t, b->go, "runtime.hchan");
	load_embeddings(b);
	return NULL;
}

static struct memdbg_error *read_span_extras(struct builder *b, const struct go_span *s, struct go_heap_span *h)
{
	const struct go_layout *gl = &b->go->l;
	h->noscan = go_noscan(s->spanclass);
	bool large = go_size_class(s->spanclass) == 0;
	h->header = !h->noscan && !large && s->elemsize > b->l.min_header_size;
	if (large) {
		struct memdbg_error *err;
		if ((err = memdbg_read_u64(b->t, s->addr + b->l.sp_large_type, &h->large_type)) ||
		    (err = memdbg_read_u64(b->t, s->addr + b->l.sp_limit, &h->limit)))
			return err;
		if (h->limit < h->start || h->limit > h->start + s->npages * gl->page_size)
			h->limit = h->end;
	} else if (!h->noscan && s->elemsize <= b->l.min_header_size) {
		/* [objects | heap bits: 1 bit per word | Green Tea inline mark bits (elemsize >= 16)] */
		uint64_t span_bytes = s->npages * gl->page_size, bits = span_bytes / 64;
		h->heap_bits = h->start + span_bytes - bits;
		if (b->l.inline_marks && s->elemsize >= 16)
			h->heap_bits -= b->l.inline_marks;
	}
	return NULL;
}

static struct memdbg_error *build_index(struct builder *b)
{
	struct memdbg_go *go = b->go;
	struct go_objects *o = b->o;
	size_t n = 0;
	for (size_t i = 0; i < go->nspans; i++)
		n += go->spans[i].state == go->l.span_in_use && go->spans[i].nelems;
	o->hs = calloc(n ? n : 1, sizeof(*o->hs));
	if (!o->hs)
		return memdbg_enomem;
	for (size_t i = 0; i < go->nspans; i++) {
		const struct go_span *s = &go->spans[i];
		if (s->state != go->l.span_in_use || !s->nelems)
			continue;
		struct go_heap_span *h = &o->hs[o->nhs++];
		h->start = s->start;
		h->elemsize = s->elemsize;
		h->nelems = s->nelems;
		h->end = s->start + (uint64_t)s->nelems * s->elemsize;
		h->span = (uint32_t)i;
		struct memdbg_error *err = read_span_extras(b, s, h);
		if (err) {
			memdbg_error_destroy(err);
			o->unreadable_bits++;
		}
	}
	qsort(o->hs, o->nhs, sizeof(*o->hs), heap_span_cmp);
	for (size_t i = 0; i < o->nhs; i++) {
		if (i && o->hs[i].start < o->hs[i - 1].end)
			return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "spans at 0x%" PRIx64 " and 0x%" PRIx64 " overlap",
						   o->hs[i - 1].start, o->hs[i].start);
		o->hs[i].first = o->nslots;
		o->nslots += o->hs[i].nelems;
	}
	if (o->nslots >= UINT32_MAX)
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%" PRIu64 " heap slots: too many", o->nslots);
	struct memdbg_error *lerr = go_lookup_build(o, go->l.page_size, go->l.arena_bytes);
	if (lerr)
		return lerr;
	size_t bytes = (o->nslots / 64 + 1) * 8;  /* whole words: graph.h ranks them 64 bits at a time */
	o->alloc = calloc(bytes, 1);
	o->live = calloc(bytes, 1);
	o->type = calloc(o->nslots + 1, sizeof(*o->type));
	o->src = calloc(o->nslots + 1, sizeof(*o->src));
	o->src_ref = calloc(o->nslots + 1, sizeof(*o->src_ref));
	o->rejected = calloc(bytes, 1);
	if (!o->alloc || !o->live || !o->type || !o->src || !o->src_ref || !o->rejected)
		return memdbg_enomem;
	/* Allocated: below freeindex, or set in allocBits (as spans.c counted them). */
	uint8_t bits[8192];
	for (size_t i = 0; i < o->nhs; i++) {
		const struct go_heap_span *h = &o->hs[i];
		const struct go_span *s = &go->spans[h->span];
		size_t nbytes = ((size_t)h->nelems + 7) / 8;
		struct memdbg_error *err = nbytes <= sizeof(bits) ? memdbg_read(b->t, s->alloc_bits, bits, nbytes) : NULL;
		if (err || nbytes > sizeof(bits)) {
			memdbg_error_destroy(err);
			o->unreadable_bits++;
			continue;
		}
		for (uint32_t k = 0; k < h->nelems; k++)
			if (k < s->freeindex || go_bit(bits, k))
				o->alloc[(h->first + k) / 8] |= (uint8_t)(1u << ((h->first + k) % 8));
	}
	return NULL;
}

/* ---- object types ---- */

static uint64_t otype_hash(uint64_t type, uint64_t count, const char *label)
{
	uint64_t h = type * 0x9e3779b97f4a7c15ull ^ count * 0xc2b2ae3d27d4eb4full;
	if (!type)
		for (const unsigned char *c = (const unsigned char *)label; *c; c++)
			h = (h ^ *c) * 0x100000001b3ull;
	return h ^ h >> 29;
}

/* Index of otype i in the open-addressing table (which stays at most half full). */
static void otype_index_put(struct go_objects *o, uint32_t i)
{
	const struct go_objtype *ot = &o->otypes[i];
	size_t mask = o->otype_index_cap - 1;
	size_t at = otype_hash(ot->type, ot->count, ot->label) & mask;
	while (o->otype_index[at])
		at = (at + 1) & mask;
	o->otype_index[at] = i;
}

static bool otype_index_grow(struct go_objects *o)
{
	size_t cap = o->otype_index_cap ? 2 * o->otype_index_cap : 1024;
	uint32_t *n = calloc(cap, sizeof(*n));
	if (!n)
		return false;
	free(o->otype_index);
	o->otype_index = n;
	o->otype_index_cap = cap;
	for (uint32_t i = 1; i < o->notypes; i++)
		otype_index_put(o, i);
	return true;
}

static uint32_t intern_type(struct go_objects *o, uint64_t type, uint64_t count, const char *label)
{
	if (o->otype_index_cap) {
		size_t mask = o->otype_index_cap - 1;
		for (size_t at = otype_hash(type, count, label) & mask; o->otype_index[at]; at = (at + 1) & mask) {
			const struct go_objtype *ot = &o->otypes[o->otype_index[at]];
			if (ot->type == type && ot->count == count && (type || strcmp(ot->label, label) == 0))
				return o->otype_index[at];
		}
	}
	if (o->notypes == o->otypes_cap) {
		size_t cap = o->otypes_cap ? 2 * o->otypes_cap : 256;
		struct go_objtype *n = realloc(o->otypes, cap * sizeof(*n));
		if (!n)
			return 0;
		o->otypes = n;
		o->otypes_cap = cap;
		if (o->notypes == 0)
			o->otypes[o->notypes++] = (struct go_objtype){ 0 };
	}
	if (2 * (o->notypes + 1) > o->otype_index_cap && !otype_index_grow(o))
		return 0;
	char *name;
	if (count)
		name = asprintf(&name, "[%" PRIu64 "]%s", count, label) < 0 ? NULL : name;
	else
		name = strdup(label);
	if (!name)
		return 0;
	o->otypes[o->notypes] = (struct go_objtype){ type, count, name, name + strlen(name) - strlen(label) };
	otype_index_put(o, (uint32_t)o->notypes);
	return (uint32_t)o->notypes++;
}

const char *go_objtype_name(const struct go_objects *o, uint64_t id)
{
	uint32_t k = o->type[id];
	return k ? o->otypes[k].name : NULL;
}

static struct memdbg_error *push(struct builder *b, uint64_t id)
{
	if (b->qtail == b->qcap) {
		size_t cap = b->qcap ? 2 * b->qcap : 4096;
		uint32_t *q = realloc(b->queue, cap * sizeof(*q));
		if (!q)
			return memdbg_enomem;
		b->queue = q;
		b->qcap = cap;
	}
	b->queue[b->qtail++] = (uint32_t)id;
	return NULL;
}

static const struct go_type *type_at(struct builder *b, uint64_t addr);
static uint64_t word(struct builder *b, uint64_t addr);
static bool closure_fits(struct builder *b, uint64_t id);
static bool type_fits(struct builder *b, uint64_t id, const struct go_type *ty);
static uint64_t object_room(struct builder *b, uint64_t id);

/* The span heap bits of small scan object id (at most 64 words: objects of 512 B or less). */
static bool slot_heap_bits(struct builder *b, const struct go_heap_span *h, uint64_t id, uint64_t *bits)
{
	uint64_t w0 = (go_id_addr(h, id) - h->start) / 8, words = h->elemsize / 8;
	uint8_t buf[10];
	size_t nbytes = (size_t)((w0 % 8 + words + 7) / 8);
	if (words > 64 || nbytes > sizeof(buf))
		return false;
	const uint8_t *raw = memdbg_peek(b->t, h->heap_bits + w0 / 8, nbytes);
	if (!raw) {
		struct memdbg_error *err = memdbg_read(b->t, h->heap_bits + w0 / 8, buf, nbytes);
		if (err) {
			memdbg_error_destroy(err);
			return false;
		}
		raw = buf;
	}
	/* The slot's bits begin at bit w0 % 8 of raw[0] and span at most 9 bytes: one load, a shift, the 9th byte. */
	uint64_t lo = 0, shift = w0 % 8;
	memcpy(&lo, raw, nbytes < 8 ? nbytes : 8);
	*bits = lo >> shift;
	if (nbytes > 8)
		*bits |= (uint64_t)raw[8] << (64 - shift);  /* nbytes 9 needs shift > 0 */
	if (words < 64)
		*bits &= (1ull << words) - 1;
	return true;
}

/*
 * The number of elements of ty the heap bits hold: the runtime writes the
 * type's mask once per element of the allocation (make([]T, n): n times) and
 * clears the rest of the slot.  Each element of a pointerful type sets a bit,
 * so at most one count matches; 0 when none does.
 */
static uint64_t count_in_heap_bits(struct builder *b, const struct go_type *ty, uint64_t bits, uint64_t elemsize)
{
	if (!ty->size || ty->size % 8 || ty->ptrbytes > 512)
		return 0;
	uint64_t m = go_type_mask64(b->t, b->go, ty), acc = 0, sw = ty->size / 8;
	for (uint64_t n = 1; n * ty->size <= elemsize; n++) {
		acc |= m << ((n - 1) * sw);
		if (acc == bits)
			return n;
		if (acc & ~bits)
			return 0;
	}
	return 0;
}

/* Labels that name memory without pointers. */
static bool label_pointer_free(const char *label)
{
	return strcmp(label, "string data") == 0 || strcmp(label, "runtime.hchan (noscan)") == 0 ||
	       strncmp(label, "tiny block (", 12) == 0;
}

/* The tiny allocator's 16-byte noscan blocks, each holding several allocations smaller than 16 bytes. */
static bool tiny_span(const struct go_heap_span *h)
{
	return h->noscan && h->elemsize == 16 && h->nelems > 1;
}

static void tile_mask(struct builder *b, const struct go_type *ty, uint8_t *mask, uint64_t first, uint64_t end,
		      uint64_t max_elems);

/*
 * go1.22-1.23 give a large object whose type has a GC program a nameless
 * largeType with the unrolled mask of the whole span: a named candidate
 * fits when its mask, repeated over the span, is that mask.
 */
static bool fits_unrolled(struct builder *b, uint64_t id, const struct go_type *ty)
{
	const struct go_heap_span *h = go_span_of_id(b->o, id);
	const struct go_type *lt = type_at(b, h->large_type);
	uint64_t words = h->elemsize / 8, nbytes = words / 8 + 1;
	if (!lt || lt->name || !ty->size || ty->size % 8 || words > (1u << 28))
		return false;
	uint8_t *want = calloc(nbytes, 1), *got = calloc(nbytes, 1);
	bool fits = want && got;
	if (fits) {
		tile_mask(b, lt, want, 0, words, UINT64_MAX);
		tile_mask(b, ty, got, 0, words, UINT64_MAX);
		fits = memcmp(want, got, nbytes) == 0;
	}
	free(want);
	free(got);
	return fits;
}

/*
 * May object id have type ty (count elements, 0: one value) or the label?
 * Only if the runtime's own record of the slot agrees: the malloc header or
 * largeType names exactly that type; the span heap bits equal the type's
 * mask repeated over the elements (which also gives the count: *count is
 * set from them); a noscan slot takes only a type without pointers that fits.
 */
static bool gc_accepts(struct builder *b, const struct go_heap_span *h, uint64_t id, const struct go_type *ty,
		       uint64_t *count, const char *label)
{
	uint64_t room = h->large_type || (h->limit && h->nelems == 1) ? h->limit - h->start
								    : h->elemsize - (h->header ? MALLOC_HEADER : 0);
	if (!ty) {
		if (strncmp(label, "closure ", 8) == 0)
			return closure_fits(b, id);
		return h->noscan && label_pointer_free(label);
	}
	if (h->noscan)
		return ty->ptrbytes == 0 && ty->size && (*count ? *count : 1) <= room / ty->size;
	if (h->header)
		return ty->addr == word(b, go_id_addr(h, id));
	if (h->large_type)
		return ty->addr == h->large_type || fits_unrolled(b, id, ty);
	uint64_t bits;
	if (!h->heap_bits || !slot_heap_bits(b, h, id, &bits))
		return false;  /* a large object being set up (no largeType yet), or bits we cannot read */
	if (ty->ptrbytes == 0)
		return bits == 0 && ty->size && (*count ? *count : 1) <= room / ty->size;
	uint64_t n = count_in_heap_bits(b, ty, bits, h->elemsize);
	if (!n || n < *count)
		return false;
	*count = n > 1 || *count ? n : 0;
	return true;
}

/* The index of the root stored at addr (a global's, stack slot's or finalizer's word), or UINT32_MAX. */
static uint32_t root_at(struct builder *b, uint64_t addr)
{
	size_t lo = 0, hi = b->roots_by_addr ? b->o->nroots : 0, n = hi;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->roots_by_addr[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && b->roots_by_addr[lo].addr == addr ? b->roots_by_addr[lo].root : UINT32_MAX;
}

/* Where a type proposed by the word at from comes from; *ref: the referrer's id or the root's index. */
static enum go_type_src source_of(struct builder *b, uint64_t from, uint32_t *ref)
{
	const struct go_heap_span *h = b->from_span;
	uint64_t slot;
	*ref = UINT32_MAX;
	if (b->phase == GO_SRC_HEADER)
		return GO_SRC_HEADER;
	/* Words come in runs from one object, or one span: try the span of the last one first. */
	if ((h && from >= h->start && (from - h->start) / h->elemsize < h->nelems) || go_find_object(b->o, from, &h, &slot)) {
		b->from_span = h;
		*ref = (uint32_t)(h->first + (from - h->start) / h->elemsize);
		return GO_SRC_REFERRER;
	}
	*ref = root_at(b, from);
	return b->phase;
}

static void reject(struct builder *b, uint64_t id, const char *name, uint64_t count, uint64_t from)
{
	struct go_objects *o = b->o;
	o->rejected_types++;
	if (!go_bit(o->rejected, id)) {
		o->rejected[id / 8] |= (uint8_t)(1u << (id % 8));
		o->rejected_objects++;
	}
	if (o->nrejections == GO_MAX_REJECTIONS)
		return;
	if (o->nrejections % 256 == 0) {
		struct go_rejection *r = realloc(o->rejections, (o->nrejections + 256) * sizeof(*r));
		if (!r)
			return;
		o->rejections = r;
	}
	char *copy = strdup(name);
	uint32_t ref;
	if (copy)
		o->rejections[o->nrejections++] = (struct go_rejection){
			.id = id, .from = from, .count = count, .src = source_of(b, from, &ref), .name = copy
		};
}

/*
 * A struct whose first field, at offset 0, is of type inner: an object that
 * a *inner and a *ty both point to is a ty, whichever typed it first
 * (`&TCPConn{conn{fd}}`, reached as *conn by a method's receiver and as
 * *TCPConn by the net.Conn holding it).
 */
static bool starts_with(const struct go_type *ty, uint64_t inner)
{
	return ty->kind == GO_KIND_STRUCT && ty->nfields && ty->fields[0].offset == 0 && ty->fields[0].type == inner &&
	       ty->addr != inner;
}

#define TYPING_LOG_STEPS (1u << 13)  /* a chunk's steps at most; past them its walks are taken in turn */

/* In a batch's walk (b->log), record step s for its turn and say so; else false: take it now. */
static bool defer_step(struct builder *b, struct typing_step s)
{
	struct typing_log *log = b->log;
	if (!log)
		return false;
	if (log->full)
		return true;
	if (log->nsteps == log->cap) {
		size_t cap = log->cap ? 2 * log->cap : 256;
		struct typing_step *n = cap <= TYPING_LOG_STEPS ? realloc(log->steps, cap * sizeof(*n)) : NULL;
		if (!n) {
			log->full = true;
			return true;
		}
		log->steps = n;
		log->cap = cap;
	}
	log->steps[log->nsteps++] = s;
	return true;
}

/*
 * Give object id a type unless it has one, if the GC's metadata agrees
 * (gc_accepts); from is the word whose typed pointer proposes it.  A known
 * array length refines a guessed one (smaller), or a single element reached
 * through a pointer (allgptr **g before allgs []*g), where the heap bits do
 * not fix the count: then the object is walked again, whole.  So does a
 * struct that starts with the type it has (starts_with).  gc: gc_accepts'
 * verdict (and gc_count its count) if a batch's walk asked it already.
 */
static void assign_as(struct builder *b, uint64_t id, const struct go_type *ty, uint64_t count, const char *label,
		      uint64_t from, enum gc_verdict gc, uint64_t gc_count)
{
	struct go_objects *o = b->o;
	const struct go_heap_span *h = go_span_of_id(o, id);
	/* With pointer-free elements the runtime allocates the hchan and its buffer as one noscan block;
	 * a *hchan (a runtime frame's variable) reaches it as well as a chan value does. */
	if (ty && ty->addr == b->l.hchan_type && h->noscan) {
		ty = NULL;
		label = "runtime.hchan (noscan)";
	}
	if (b->log) {
		/* Asked on the pool while nothing is typed; not for largeType (fits_unrolled counts bad types). */
		gc_count = count;
		if (ty && !o->type[id] && !h->large_type)
			gc = gc_accepts(b, h, id, ty, &gc_count, label) ? GC_ACCEPTS : GC_REFUSES;
		defer_step(b, (struct typing_step){ .kind = STEP_ASSIGN, .id = id, .ty = ty, .count = count,
						    .label = label, .from = from, .gc = gc, .v = gc_count });
		return;
	}
	uint32_t cur = o->type[id];
	bool rewalk = !cur;
	bool outer = false;
	if (cur) {
		const struct go_objtype *ot = &o->otypes[cur];
		outer = ty && !ot->count && count <= 1 && starts_with(ty, ot->type) && gc_accepts(b, h, id, ty, &count, NULL);
		if (!outer &&
		    (!ty || ot->type != ty->addr || !count || (ot->count ? count >= ot->count : count == 1) || h->heap_bits))
			return;
		rewalk = outer || !ot->count;
	}
	const char *name = ty ? ty->name : label;
	if (!name)
		return;
	if (!cur && gc == GC_ACCEPTS)
		count = gc_count;
	if (!cur && (gc == GC_REFUSES || (gc == GC_UNASKED && !gc_accepts(b, h, id, ty, &count, label)))) {
		reject(b, id, name, count, from);
		return;
	}
	uint32_t k = intern_type(o, ty ? ty->addr : 0, count, name);
	if (!k)
		return;
	o->type[id] = k;
	if (!cur || outer) {
		enum go_type_src src = source_of(b, from, &o->src_ref[id]);
		o->src[id] = src == GO_SRC_HEADER && h->large_type ? GO_SRC_LARGE_TYPE : src;
	}
	if (rewalk)
		memdbg_error_destroy(push(b, id));
}

/* assign_as, gc_accepts not asked yet */
static void assign(struct builder *b, uint64_t id, const struct go_type *ty, uint64_t count, const char *label,
		   uint64_t from)
{
	assign_as(b, id, ty, count, label, from, GC_UNASKED, 0);
}

static const struct go_type *type_at(struct builder *b, uint64_t addr)
{
	if (!addr)
		return NULL;
	struct recent_type *r = b->recent_types ? &b->recent_types[(addr >> 4) & (TYPE_CACHE - 1)] : NULL;
	if (r && r->addr == addr)
		return r->ty;
	struct memdbg_error *err = NULL;
	const struct go_type *ty = go_type_at(b->t, b->go, addr, &err);
	if (err) {
		memdbg_error_destroy(err);
		if (b->log)
			b->log->bad_types++;  /* counted in the walk's turn, unless it is walked again */
		else
			b->o->bad_types++;  /* not remembered: each use counts, as before */
		return NULL;
	}
	if (r)
		*r = (struct recent_type){ addr, ty };
	return ty;
}

static uint64_t word(struct builder *b, uint64_t addr)
{
	uint64_t v = 0;
	if (addr >= b->win_lo && addr < b->win_hi && b->win_hi - addr >= 8) {
		memcpy(&v, b->win_data + (addr - b->win_lo), 8);
		return v;
	}
	const void *p = memdbg_peek(b->t, addr, 8);
	if (p) {
		memcpy(&v, p, 8);  /* a byte field's word need not be aligned */
		return v;
	}
	if (!memdbg_readable(b->t, addr, 8))
		return 0;  /* without formatting an error no one reads: walks may try many such words */
	struct memdbg_error *err = memdbg_read_u64(b->t, addr, &v);
	memdbg_error_destroy(err);
	return err ? 0 : v;
}

/* The allocated object whose data starts exactly at p (after its malloc header, if any). */
static bool base_object(struct builder *b, uint64_t p, uint64_t *id)
{
	const struct go_heap_span *s;
	uint64_t slot;
	if (!go_find_object(b->o, p, &s, &slot) || go_id_addr(s, s->first + slot) + (s->header ? MALLOC_HEADER : 0) != p)
		return false;
	*id = s->first + slot;
	return go_bit(b->o->alloc, *id);
}

/* The span class's slot size for an object of size bytes. */
static uint64_t class_slot(const struct memdbg_go *go, uint64_t size)
{
	for (uint64_t c = 1; c < go->l.num_size_classes; c++)
		if (go->class_to_size[c] >= size)
			return go->class_to_size[c];
	return 0;
}

/* Bytes an object can hold: its slot, less its malloc header; large objects up to their limit. */
static uint64_t object_room(struct builder *b, uint64_t id)
{
	const struct go_heap_span *h = go_span_of_id(b->o, id);
	if (h->large_type || (h->limit && h->nelems == 1))
		return h->limit - h->start;
	return h->elemsize - (h->header ? MALLOC_HEADER : 0);
}

/*
 * Was object id's slot allocated for count elements of elem_size bytes, as
 * make and append allocate arrays: the size class that holds them (and a
 * malloc header), or a large object's size within an element and a page.
 */
static bool sized_for_array(struct builder *b, uint64_t id, uint64_t count, uint64_t elem_size)
{
	const struct go_heap_span *h = go_span_of_id(b->o, id);
	uint64_t room = object_room(b, id);
	if (!count || !elem_size || count > room / elem_size)
		return false;
	if (go_size_class(b->go->spans[h->span].spanclass) == 0)
		return room - count * elem_size < elem_size + b->go->l.page_size;
	return class_slot(b->go, count * elem_size + (h->header ? MALLOC_HEADER : 0)) == h->elemsize;
}

/*
 * The backing array of a slice of cap elems from p: the object starting at
 * p, or one that p points into at a whole element when the slot was sized for
 * the array from its start (a slice with its front cut off, s = s[k:]);
 * *count: its elements from the object's start.
 */
static bool slice_array(struct builder *b, const struct go_type *elem, uint64_t p, uint64_t cap, uint64_t *id,
			uint64_t *count)
{
	const struct go_heap_span *h;
	uint64_t slot;
	*count = cap;
	if (base_object(b, p, id))
		return true;
	if (!cap || !elem || !elem->size || !go_find_object(b->o, p, &h, &slot) || tiny_span(h) ||
	    cap > h->elemsize / elem->size)
		return false;
	uint64_t start = go_id_addr(h, h->first + slot) + (h->header ? MALLOC_HEADER : 0), off = p - start;
	*id = h->first + slot;
	if (p <= start || off % elem->size || !sized_for_array(b, *id, off / elem->size + cap, elem->size))
		return false;
	*count = off / elem->size + cap;
	return go_bit(b->o->alloc, *id);
}

static void walk_value(struct builder *b, const struct go_type *ty, uint64_t addr, int depth);
static bool swiss_map_holds(struct builder *b, uint64_t m, const struct go_type *table);
static void type_typed_slot(struct builder *b, uint64_t types_base, uint64_t addr, uint64_t rt, int shape,
			    uint64_t size, uint64_t count_addr);

struct closure_scan {
	struct builder *b;
	uint64_t base, types_base;
};

static struct memdbg_error *type_captured(void *arg, const struct memdbg_frame_var *v)
{
	struct closure_scan *cs = arg;
	if (v->has_runtime_type)
		type_typed_slot(cs->b, cs->types_base, cs->base + (uint64_t)v->cfa_offset, v->runtime_type, v->shape,
				v->size, cs->base + (uint64_t)v->count_offset);
	return NULL;
}

/*
 * The pointer words a closure's captured variables take (go1.23+ DWARF), to
 * hold against its heap bits; DWARF need not list every captured word.
 */
struct closure_mask {
	struct builder *b;
	uint64_t types_base, mask;
	uint64_t room;  /* the object's bytes; 0: unknown */
	bool outside;   /* a variable ends past them: DWARF's are not this object's */
};

static struct memdbg_error *note_captured_mask(void *arg, const struct memdbg_frame_var *v)
{
	struct closure_mask *cm = arg;
	const struct go_type *ty = v->has_runtime_type ? type_at(cm->b, cm->types_base + v->runtime_type) : NULL;
	if (!ty || v->cfa_offset < 0 || v->cfa_offset % 8)
		return NULL;
	if (cm->room && (uint64_t)v->cfa_offset + (v->size ? v->size : 8) > cm->room)
		cm->outside = true;
	uint64_t w0 = (uint64_t)v->cfa_offset / 8;
	if (v->shape == MEMDBG_GLOBAL_POINTER_TO || v->shape == MEMDBG_GLOBAL_SLICE_OF) {
		if (w0 < 64)
			cm->mask |= 1ull << w0;
		return NULL;
	}
	uint64_t n = v->shape == MEMDBG_GLOBAL_ARRAY_OF && ty->size ? v->size / ty->size : 1;
	for (uint64_t i = 0; i < n && ty->ptrbytes && ty->size % 8 == 0; i++)
		for (uint64_t w = 0; w < ty->ptrbytes / 8; w++)
			if (w0 + i * ty->size / 8 + w < 64 && go_type_word_is_ptr(cm->b->t, cm->b->go, ty, w))
				cm->mask |= 1ull << (w0 + i * ty->size / 8 + w);
	return NULL;
}

/* The text (where closure code pointers point) and, without DWARF, the closure context types the code makes. */
static void load_closure_types(struct builder *b)
{
	struct go_stripped *st = go_stripped_of(b->t);
	memdbg_target_symbol(b->t, "runtime.text", &b->text_lo, NULL);
	memdbg_target_symbol(b->t, "runtime.etext", &b->text_hi, NULL);
	b->stripped = st != NULL;
	b->nclosure_types = st ? go_stripped_closure_types(st, &b->closure_types) : 0;
}

/*
 * With DWARF: the closure context types the code makes, for what DWARF does
 * not describe (type_uncaptured, type_code_dwarfless_globals).  Walking the
 * code can cost more than building a small heap's objects (it is the walk
 * a build without DWARF makes), so only the first closure that needs it does.
 */
static struct go_stripped *code_of(struct builder *b)
{
	if (!b->go->code_opened) {
		b->go->code_opened = true;
		b->go->code = go_stripped_code_open(b->t);
	}
	return b->go->code;
}

static bool load_code_closure_types(struct builder *b)
{
	if (!b->code_closures) {
		b->code_closures = true;
		b->nclosure_types = code_of(b) ? go_stripped_closure_types(b->go->code, &b->closure_types) : 0;
	}
	return b->nclosure_types != 0;
}

/*
 * Without DWARF: the context type of the closures of the function at entry
 * pc, if the code makes them with one (go_stripped_closure_types) and it is
 * one (struct { F uintptr; ... }).
 */
static const struct go_type *closure_context(struct builder *b, uint64_t pc)
{
	const struct go_closure_type *c = go_closure_type_of(b->closure_types, b->nclosure_types, pc);
	const struct go_type *ty = c ? type_at(b, c->type) : NULL;
	if (!ty || ty->kind != GO_KIND_STRUCT || !ty->nfields || !ty->fields[0].name ||
	    strcmp(ty->fields[0].name, "F") != 0 || ty->fields[0].offset != 0)
		return NULL;
	const struct go_type *f = type_at(b, ty->fields[0].type);
	return f && f->size == 8 && f->ptrbytes == 0 ? ty : NULL;
}

/*
 * Is object id a closure?  Its first word must be the entry of a function in
 * the text (a funcval's code pointer, never a heap pointer), and the heap
 * bits must have every pointer word of the captured variables DWARF names
 * (none at all in a noscan slot).  Without DWARF the code must make that
 * function's closures with one context type, and the object must fit it as
 * new(T) does: its size class, and the heap bits its whole mask.
 */
static bool closure_fits(struct builder *b, uint64_t id)
{
	const struct go_heap_span *h = go_span_of_id(b->o, id);
	uint64_t base = go_id_addr(h, id), pc = word(b, base), off = 1, bits = 0;
	if (h->header || h->large_type || pc < b->text_lo || pc >= b->text_hi)
		return false;
	if (b->stripped) {
		const struct go_type *ctx = closure_context(b, pc);
		return ctx && type_fits(b, id, ctx);
	}
	if (!memdbg_elf_symbol_at(b->t->exe, pc - b->t->bias, &off) || off != 0)
		return false;
	if (!h->noscan && (!h->heap_bits || !slot_heap_bits(b, h, id, &bits) || (bits & 1)))
		return false;
	struct closure_mask cm = { .b = b };
	if (!memdbg_target_symbol(b->t, "runtime.types", &cm.types_base, NULL))
		return true;
	memdbg_error_destroy(memdbg_dwarf_closure_vars(b->t->dwarf, pc - b->t->bias, note_captured_mask, &cm));
	return (cm.mask & ~bits) == 0;
}

/* The words of a struct's field i, as a mask of the struct's first 64 words. */
static uint64_t field_words(const struct go_type *ty, size_t i)
{
	const struct go_field *f = &ty->fields[i];
	uint64_t end = i + 1 < ty->nfields ? ty->fields[i + 1].offset : ty->size, mask = 0;
	for (uint64_t w = f->offset / 8; w * 8 < end && w < 64; w++)
		mask |= 1ull << w;
	return mask;
}

/*
 * With DWARF: what a closure captured that DWARF does not describe (a method
 * value's -fm closure, variables captured into inlined code, on go1.22 those
 * declared after the closure) is typed by the code's context type, as
 * without DWARF, when the object fits it: each field none of whose words a
 * captured variable of DWARF's takes (every field when one of them ends past
 * the object: go1.22 can describe another layout than the one allocated).
 * Only a closure whose heap bits mark a pointer word DWARF's variables do
 * not take asks for the code's types.
 */
static void type_uncaptured(struct builder *b, uint64_t id, uint64_t v, uint64_t pc, uint64_t types_base)
{
	const struct go_heap_span *h = go_span_of_id(b->o, id);
	struct closure_mask cm = { .b = b, .types_base = types_base, .room = object_room(b, id) };
	uint64_t bits = 0;
	if (h->noscan || !h->heap_bits || !slot_heap_bits(b, h, id, &bits))
		return;
	memdbg_error_destroy(memdbg_dwarf_closure_vars(b->t->dwarf, pc - b->t->bias, note_captured_mask, &cm));
	if (cm.outside)
		cm.mask = 0;
	if (!(bits & ~cm.mask & ~1ull))
		return;
	load_code_closure_types(b);
	const struct go_type *ctx = closure_context(b, pc);
	if (!ctx || !type_fits(b, id, ctx))
		return;
	for (size_t i = 1; i < ctx->nfields; i++)
		if (!(field_words(ctx, i) & cm.mask))
			walk_value(b, type_at(b, ctx->fields[i].type), v + ctx->fields[i].offset, 0);
}

/*
 * A closure object: its first word is the code pointer, which names it; the
 * function's DWARF (go1.23+) gives the offset and type of each captured variable.
 */
static void type_closure(struct builder *b, uint64_t id, uint64_t v, uint64_t from)
{
	if (defer_step(b, (struct typing_step){ .kind = STEP_CLOSURE, .id = id, .v = v, .from = from }))
		return;
	if (b->o->type[id])
		return;
	uint64_t off, pc = word(b, v) - b->t->bias;
	char buf[64];
	const char *fn = memdbg_target_symbol_at(b->t, pc + b->t->bias, &off, buf, sizeof(buf));
	char label[512];
	snprintf(label, sizeof(label), "closure %s", fn ? fn : "?");
	assign(b, id, NULL, 0, label, from);
	if (!b->o->type[id])
		return;
	const struct go_type *ctx = b->stripped ? closure_context(b, pc + b->t->bias) : NULL;
	for (size_t i = 1; ctx && i < ctx->nfields; i++)  /* the captured variables: the fields after F */
		walk_value(b, type_at(b, ctx->fields[i].type), v + ctx->fields[i].offset, 0);
	struct closure_scan cs = { b, v, 0 };
	if (!b->stripped && memdbg_target_symbol(b->t, "runtime.types", &cs.types_base, NULL)) {
		memdbg_error_destroy(memdbg_dwarf_closure_vars(b->t->dwarf, pc, type_captured, &cs));
		type_uncaptured(b, id, v, pc + b->t->bias, cs.types_base);
	}
}

/* Buckets up to go1.23 chain overflow buckets through their last word. */
static void type_overflow_buckets(struct builder *b, const struct go_type *bucket, uint64_t array, uint64_t n)
{
	uint64_t aid;
	if (bucket->size < 8 || !base_object(b, array, &aid))
		return;
	/* No more buckets than the array's object holds, whatever B says (a header in garbage may say anything). */
	uint64_t room = object_room(b, aid) / bucket->size;
	for (uint64_t i = 0; i < n && i < room; i++) {
		uint64_t at = array + i * bucket->size + bucket->size - 8, ov = word(b, at), id;
		for (int hops = 0; hops < 1024 && base_object(b, ov, &id); hops++) {
			assign(b, id, bucket, 0, NULL, at);
			at = ov + bucket->size - 8;
			ov = word(b, at);
		}
	}
}

/* A pointer of type *T (T: the runtime type member) to v inside an object: type the object that embeds T there. */
static void type_container(struct builder *b, uint64_t member, uint64_t v, uint64_t from)
{
	const struct obj_layout *l = &b->l;
	for (size_t i = 0; i < l->nembedded; i++) {
		const struct embedding *e = &l->embedded[i];
		uint64_t id;
		if (e->member != member || v < e->offset || !base_object(b, v - e->offset, &id) || b->o->type[id] ||
		    e->periodic != (word(b, v + l->timer_period) != 0))
			continue;
		assign(b, id, type_at(b, e->container), 0, NULL, from);
		if (b->o->type[id])
			return;
	}
}

/*
 * A typed pointer v inside a tiny block, past its start: the block holds, among
 * other tiny allocations, n values of type ty there (n = 0: one value), or a
 * string's n bytes (ty NULL).  The block is named for it: "tiny block ([]uint8)".
 */
static void type_tiny_piece(struct builder *b, const struct go_type *ty, uint64_t n, uint64_t v, uint64_t from)
{
	if (defer_step(b, (struct typing_step){ .kind = STEP_TINY, .ty = ty, .count = n, .v = v, .from = from }))
		return;
	const struct go_heap_span *h;
	uint64_t slot;
	if (!go_find_object(b->o, v, &h, &slot) || !tiny_span(h))
		return;
	uint64_t id = h->first + slot, off = v - go_id_addr(h, id), room = h->elemsize - off;
	if (!off || b->o->type[id] || !go_bit(b->o->alloc, id))
		return;
	/* A value that cannot be there (pointers, or past the block) is not a piece of it. */
	if (ty ? ty->ptrbytes || !ty->size || !ty->name || (n ? n : 1) > room / ty->size : n > room)
		return;
	char name[512];
	snprintf(name, sizeof(name), "tiny block (%s%s)", ty && n ? "[]" : "", ty ? ty->name : "string data");
	assign(b, id, NULL, 0, name, from);
}

/*
 * A typed pointer into the data or bss: a variable the compiler made for a
 * composite literal (`var p = &sync.Pool{...}`), which has no symbol and no
 * DWARF of its own.  Its value is walked as its pointer's type says, once.
 */
static void walk_global_pointee(struct builder *b, uint64_t elem, uint64_t v)
{
	if (v < b->globals_lo || v >= b->globals_hi || !elem ||
	    (uint64_t)(uintptr_t)go_map_get(&b->globals_walked, v) == elem)
		return;
	const struct go_type *ty = type_at(b, elem);
	if (!ty || v + ty->size > b->globals_hi || b->globals_depth >= MAX_WALK_DEPTH ||
	    !go_map_put(&b->globals_walked, v, (void *)(uintptr_t)elem))
		return;
	b->globals_depth++;
	walk_value(b, ty, v, 0);
	b->globals_depth--;
}

/* May ty be a HashTrieMap's node[K,V] (below)? */
static bool maybe_trie_node(const struct go_type *ty)
{
	return ty && ty->kind == GO_KIND_STRUCT && ty->size == 1 && ty->name && strstr(ty->name, ".node[");
}

/*
 * A HashTrieMap (sync.Map since go1.24, unique since go1.23) points to its
 * nodes as *node[K,V], a struct of one bool, isEntry, that begins both
 * node kinds: the node is an entry[K,V] when it is set, else an indirect[K,V].
 */
/* Does a value of the type at addr hold a *T (T at target) in its fields or elements (not behind a pointer)? */
static bool holds_pointer_to(struct builder *b, uint64_t addr, uint64_t target, int depth)
{
	const struct go_type *ty = type_at(b, addr);
	if (!ty || depth > 4)
		return false;
	if (ty->kind == GO_KIND_POINTER)
		return ty->elem == target;
	if (ty->kind == GO_KIND_ARRAY)
		return holds_pointer_to(b, ty->elem, target, depth + 1);
	for (size_t i = 0; ty->kind == GO_KIND_STRUCT && i < ty->nfields; i++)
		if (holds_pointer_to(b, ty->fields[i].type, target, depth + 1))
			return true;
	return false;
}

/*
 * Without DWARF the node's kinds by the names the runtime gives them
 * ("sync.node[interface {},interface {}]": the package's name, not its path,
 * so another instantiation may print alike): each taken only when its
 * descriptor is the node's own kin, an entry[K,V] beginning with this
 * node[K,V] and an indirect[K,V] whose children point to it.
 */
static void trie_kinds_by_name(struct builder *b, const struct go_type *node, const char *pkg, struct trie_node *tn)
{
	const char *slash = strrchr(pkg, '/'), *base = slash ? slash + 1 : pkg;
	size_t n = strlen(base);
	if (!node->name || strncmp(node->name, base, n) || strncmp(node->name + n, "node[", 5))
		return;
	const char *args = node->name + n + 4;
	char name[1024];
	snprintf(name, sizeof(name), "%sentry%s", pkg, args);
	uint64_t entry = go_type_by_name(b->t, b->go, name);
	snprintf(name, sizeof(name), "%sindirect%s", pkg, args);
	uint64_t indirect = go_type_by_name(b->t, b->go, name);
	const struct go_type *e = type_at(b, entry), *in = type_at(b, indirect);
	if (!e || !in || !e->nfields || e->fields[0].offset || e->fields[0].type != node->addr)
		return;
	for (size_t i = 0; i < in->nfields; i++)
		if (in->fields[i].name && strcmp(in->fields[i].name, "children") == 0 &&
		    holds_pointer_to(b, in->fields[i].type, node->addr, 0)) {
			tn->entry = entry;
			tn->indirect = indirect;
		}
}

static const struct go_type *trie_node_kind(struct builder *b, const struct go_type *node, uint64_t v)
{
	static const char *const pkgs[] = { "internal/sync.", "internal/concurrent." };
	if (!maybe_trie_node(node))
		return node;
	struct trie_node *tn = NULL;
	for (size_t i = 0; i < b->ntrie_nodes && !tn; i++)
		tn = b->trie_nodes[i].node == node->addr ? &b->trie_nodes[i] : NULL;
	if (!tn && b->ntrie_nodes < MEMDBG_ARRAY_SIZE(b->trie_nodes)) {
		tn = &b->trie_nodes[b->ntrie_nodes++];
		*tn = (struct trie_node){ .node = node->addr };
		for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(pkgs) && !tn->entry; i++) {
			char prefix[64], name[1024];
			snprintf(prefix, sizeof(prefix), "%snode[", pkgs[i]);
			const char *dw = memdbg_dwarf_type_with_runtime_type(b->t->dwarf, prefix, node->addr - b->types_base);
			if (!dw) {
				prefix[strlen(prefix) - 5] = '\0';  /* "internal/sync." */
				trie_kinds_by_name(b, node, prefix, tn);
				continue;
			}
			snprintf(name, sizeof(name), "%sentry%s", pkgs[i], dw + strlen(prefix) - 1);
			tn->entry = go_type_by_name(b->t, b->go, name);
			snprintf(name, sizeof(name), "%sindirect%s", pkgs[i], dw + strlen(prefix) - 1);
			tn->indirect = go_type_by_name(b->t, b->go, name);
		}
	}
	if (!tn || !tn->entry || !tn->indirect)
		return node;
	uint8_t is_entry;
	struct memdbg_error *err = memdbg_read(b->t, v, &is_entry, 1);
	memdbg_error_destroy(err);
	return err ? node : type_at(b, is_entry ? tn->entry : tn->indirect);
}

/* A *T (elem: T's runtime type) to v, not the start of a heap object: what it may still type. */
static void type_outside_heap_object(struct builder *b, uint64_t elem, uint64_t v, uint64_t from)
{
	if (defer_step(b, (struct typing_step){ .kind = STEP_OUTSIDE, .count = elem, .v = v, .from = from }))
		return;
	type_container(b, elem, v, from);
	walk_global_pointee(b, elem, v);
	type_tiny_piece(b, type_at(b, elem), 0, v, from);
}

/* A pointer-shaped value v of type ty (a field, or a direct interface's data word), stored at from. */
static void walk_pointer(struct builder *b, const struct go_type *ty, uint64_t v, uint64_t from)
{
	uint64_t id;
	if (!v)
		return;
	if (!base_object(b, v, &id)) {
		if (ty->kind == GO_KIND_POINTER)
			type_outside_heap_object(b, ty->elem, v, from);
		return;
	}
	const struct obj_layout *l = &b->l;
	switch (ty->kind) {
	case GO_KIND_POINTER: {
		/* A trie node's kind is read from it in its turn (trie_node_kind's cache is shared). */
		const struct go_type *elem = type_at(b, ty->elem);
		if (b->log && maybe_trie_node(elem))
			defer_step(b, (struct typing_step){ .kind = STEP_POINTEE, .id = id, .ty = elem, .v = v, .from = from });
		else
			assign(b, id, trie_node_kind(b, elem, v), 0, NULL, from);
		break;
	}
	case GO_KIND_CHAN: {
		assign(b, id, type_at(b, l->hchan_type), 0, NULL, from);
		uint64_t buf = word(b, v + l->hchan_buf), n = word(b, v + l->hchan_qsize), bid;
		const struct go_type *elem = type_at(b, ty->elem);
		if (n && elem && elem->size && base_object(b, buf, &bid))
			assign(b, bid, elem, n, NULL, v + l->hchan_buf);
		break;
	}
	case GO_KIND_MAP: {
		const struct go_type *group = type_at(b, ty->group);
		if (!group || !group->size)
			break;
		if (go_swiss_maps(b->t, b->go)) {
			/* A map value is a pointer the GC's bits cannot tell from another: its header must add up
			 * (an empty map without a group: nothing used). */
			const struct go_type *table = type_at(b, l->table_type);
			uint64_t dir = word(b, v + l->smap_dir), dirlen = word(b, v + l->smap_dirlen), did;
			bool has_dir = base_object(b, dir, &did);
			if (!table || (has_dir ? !swiss_map_holds(b, v, table)
					       : word(b, v + l->smap_used) != 0))
				break;
			assign(b, id, type_at(b, l->smap_type), 0, NULL, from);
			if (!has_dir)
				break;
			if (dirlen == 0) {  /* a small map: one group, no tables */
				assign(b, did, group, 0, NULL, v + l->smap_dir);
				break;
			}
			assign(b, did, type_at(b, l->table_ptr_type), dirlen, NULL, v + l->smap_dir);
			for (uint64_t i = 0; i < dirlen && i < MAX_ARRAY_WALK; i++) {
				uint64_t tab = word(b, dir + 8 * i), tid, gid;
				if (!base_object(b, tab, &tid))
					continue;
				assign(b, tid, type_at(b, l->table_type), 0, NULL, dir + 8 * i);
				uint64_t data = word(b, tab + l->table_data), mask = word(b, tab + l->table_mask);
				if (base_object(b, data, &gid) && mask < MAX_ARRAY_WALK)
					assign(b, gid, group, mask + 1, NULL, tab + l->table_data);
			}
		} else {
			assign(b, id, type_at(b, l->hmap_type), 0, NULL, from);
			uint8_t bexp = (uint8_t)word(b, v + l->hmap_b);
			uint64_t bk = word(b, v + l->hmap_buckets), old = word(b, v + l->hmap_oldbuckets), bid;
			if (bexp < 32 && base_object(b, bk, &bid)) {
				/*
				 * From B = 4 on, overflow buckets are preallocated after the 1<<B in the same
				 * object: heap bits count them; without them, as many as fit.
				 */
				uint64_t n = go_span_of_id(b->o, bid)->heap_bits ? 0 : object_room(b, bid) / group->size;
				assign(b, bid, group, n > (1ull << bexp) ? n : 1ull << bexp, NULL, v + l->hmap_buckets);
				type_overflow_buckets(b, group, bk, 1ull << bexp);
			}
			if (bexp && bexp < 33 && base_object(b, old, &bid)) {
				assign(b, bid, group, 1ull << (bexp - 1), NULL, v + l->hmap_oldbuckets);
				type_overflow_buckets(b, group, old, 1ull << (bexp - 1));
			}
		}
		break;
	}
	case GO_KIND_FUNC:
		type_closure(b, id, v, from);
		break;
	default:
		break;
	}
}

/*
 * A sync.Pool keeps its per-P caches behind unsafe.Pointers (local, victim),
 * so no typed pointer reaches them: type them as [localSize]sync.poolLocal.
 */
static void type_pool(struct builder *b, const struct go_type *pool, uint64_t addr)
{
	if (defer_step(b, (struct typing_step){ .kind = STEP_POOL, .ty = pool, .v = addr }))
		return;
	static const char *const arrays[2][2] = { { "local", "localSize" }, { "victim", "victimSize" } };
	const struct go_type *plocal = type_at(b, go_type_by_name(b->t, b->go, "sync.poolLocal"));
	if (!plocal || !plocal->size)
		return;
	for (int k = 0; k < 2; k++) {
		uint64_t ptr_off = UINT64_MAX, size_off = UINT64_MAX, id;
		for (size_t i = 0; i < pool->nfields; i++) {
			if (pool->fields[i].name && !strcmp(pool->fields[i].name, arrays[k][0]))
				ptr_off = pool->fields[i].offset;
			if (pool->fields[i].name && !strcmp(pool->fields[i].name, arrays[k][1]))
				size_off = pool->fields[i].offset;
		}
		if (ptr_off == UINT64_MAX || size_off == UINT64_MAX)
			continue;
		uint64_t n = word(b, addr + size_off);
		if (n && n < (1u << 16) && base_object(b, word(b, addr + ptr_off), &id))
			assign(b, id, plocal, n, NULL, addr + ptr_off);
	}
}

/*
 * sync/atomic.Pointer[T] is {_ [0]*T; _ noCopy; v unsafe.Pointer}: its v is
 * a *T, the type its zero-length array names.
 */
static bool walk_atomic_pointer(struct builder *b, const struct go_type *ty, uint64_t addr)
{
	if (ty->size != 8 || !ty->name || strncmp(ty->name, "atomic.Pointer[", 15) != 0)
		return false;  /* {_ [0]*T; _ noCopy; v unsafe.Pointer}: one word */
	const struct go_type *ptr = NULL;
	uint64_t v_off = UINT64_MAX;
	for (size_t i = 0; i < ty->nfields; i++) {
		const struct go_type *f = type_at(b, ty->fields[i].type);
		if (f && f->kind == GO_KIND_ARRAY && f->len == 0)
			ptr = type_at(b, f->elem);
		else if (f && f->kind == GO_KIND_UNSAFE_POINTER && ty->fields[i].name && !strcmp(ty->fields[i].name, "v"))
			v_off = ty->fields[i].offset;
	}
	if (!ptr || ptr->kind != GO_KIND_POINTER || v_off == UINT64_MAX)
		return false;
	walk_pointer(b, ptr, word(b, addr + v_off), addr + v_off);
	return true;
}

/* An interface value at addr whose dynamic type is dyn: its data word is the value or points to it. */
static void walk_dynamic(struct builder *b, const struct go_type *dyn, uint64_t addr)
{
	uint64_t w1 = word(b, addr + 8), id;
	if (!dyn)
		return;
	if (dyn->direct_iface)
		walk_pointer(b, dyn, w1, addr + 8);
	else if (base_object(b, w1, &id))
		assign(b, id, dyn, 0, NULL, addr + 8);
}

static void walk_value(struct builder *b, const struct go_type *ty, uint64_t addr, int depth)
{
	if (!ty || ty->ptrbytes == 0 || depth > MAX_WALK_DEPTH)
		return;
	switch (ty->kind) {
	case GO_KIND_POINTER:
	case GO_KIND_CHAN:
	case GO_KIND_MAP:
	case GO_KIND_FUNC:
		walk_pointer(b, ty, word(b, addr), addr);
		return;
	case GO_KIND_SLICE: {
		uint64_t data = word(b, addr), cap = word(b, addr + 16), id, n;
		const struct go_type *elem = type_at(b, ty->elem);
		if (cap && elem && elem->size && slice_array(b, elem, data, cap, &id, &n))
			assign(b, id, elem, n, NULL, addr);
		else if (cap && elem)
			type_tiny_piece(b, elem, cap, data, addr);
		return;
	}
	case GO_KIND_STRING: {
		uint64_t id, data = word(b, addr), len = word(b, addr + 8);
		if (len && base_object(b, data, &id))
			assign(b, id, NULL, 0, "string data", addr);
		else if (len)
			type_tiny_piece(b, NULL, len, data, addr);
		return;
	}
	case GO_KIND_INTERFACE:
		walk_dynamic(b, type_at(b, go_iface_type(b->t, b->go, ty, word(b, addr))), addr);
		return;
	case GO_KIND_ARRAY: {
		const struct go_type *elem = type_at(b, ty->elem);
		if (!elem || !elem->ptrbytes || !elem->size)
			return;
		for (uint64_t i = 0; i < ty->len && i < MAX_ARRAY_WALK; i++)
			walk_value(b, elem, addr + i * elem->size, depth + 1);
		return;
	}
	case GO_KIND_STRUCT:
		if (ty->name && strcmp(ty->name, "sync.Pool") == 0)
			type_pool(b, ty, addr);
		if (walk_atomic_pointer(b, ty, addr))
			return;
		/* A pool dequeue's slots: an empty interface's two words behind unsafe.Pointers. */
		if (ty->size == 16 && ty->name && strcmp(ty->name, "sync.eface") == 0) {
			walk_dynamic(b, type_at(b, word(b, addr)), addr);
			return;
		}
		for (size_t i = 0; i < ty->nfields; i++)
			walk_value(b, type_at(b, ty->fields[i].type), addr + ty->fields[i].offset, depth + 1);
		return;
	default:
		return;
	}
}

/* The exact types the runtime recorded: malloc headers and largeType. */
static void type_from_headers(struct builder *b)
{
	struct go_objects *o = b->o;
	for (size_t i = 0; i < o->nhs; i++) {
		const struct go_heap_span *h = &o->hs[i];
		if (!h->header && !h->large_type)
			continue;
		for (uint32_t k = 0; k < h->nelems; k++) {
			uint64_t id = h->first + k;
			if (!go_bit(o->alloc, id))
				continue;
			uint64_t base = go_id_addr(h, id);
			uint64_t tp = h->header ? word(b, base) : h->large_type;
			const struct go_type *ty = type_at(b, tp);
			if (!ty || !ty->size) {
				o->bad_headers += tp != 0;
				continue;
			}
			/* The header names the element type: make([]T, n) is an array of T. */
			uint64_t room = h->header ? h->elemsize - MALLOC_HEADER : h->limit - h->start;
			uint64_t n = room / ty->size;
			assign(b, id, ty, n > 1 ? n : 0, NULL, 0);
		}
	}
}

/* Walk object id as its type says, for its typed pointers (recording the steps in a batch's walk). */
static void walk_object(struct builder *b, uint64_t id)
{
	struct go_objects *o = b->o;
	const struct go_objtype *ot = &o->otypes[o->type[id]];
	const struct go_type *ty = ot->type ? type_at(b, ot->type) : NULL;
	if (!ty)
		return;
	const struct go_heap_span *h = go_span_of_id(o, id);
	uint64_t slot = go_id_addr(h, id), base = slot + (h->header ? MALLOC_HEADER : 0);
	uint64_t n = ot->count ? ot->count : 1;
	if (ty->ptrbytes && (b->win_data = memdbg_peek(b->t, slot, h->elemsize))) {
		b->win_lo = slot;
		b->win_hi = slot + h->elemsize;
	}
	for (uint64_t i = 0; i < n && i < MAX_ARRAY_WALK && (i + 1) * ty->size <= h->elemsize; i++)
		walk_value(b, ty, base + i * ty->size, 0);
	b->win_lo = b->win_hi = 0;
}

/* Take a step recorded by a batch's walk, in its turn. */
static void take_step(struct builder *b, const struct typing_step *s)
{
	switch (s->kind) {
	case STEP_ASSIGN:
		assign_as(b, s->id, s->ty, s->count, s->label, s->from, s->gc, s->v);
		return;
	case STEP_POINTEE:
		assign(b, s->id, trie_node_kind(b, s->ty, s->v), 0, NULL, s->from);
		return;
	case STEP_CLOSURE:
		type_closure(b, s->id, s->v, s->from);
		return;
	case STEP_OUTSIDE:
		type_outside_heap_object(b, s->count, s->v, s->from);
		return;
	case STEP_TINY:
		type_tiny_piece(b, s->ty, s->count, s->v, s->from);
		return;
	case STEP_POOL:
		type_pool(b, s->ty, s->v);
		return;
	}
}

#define TYPING_GRAIN 128        /* objects per chunk of a batch */
#define TYPING_BATCH_MIN 256    /* a narrower wave is walked on one thread */
#define TYPING_BATCH_MAX 16384  /* objects per batch: bounds the logs */

struct typing_batch {
	struct builder *b;
	const uint32_t *ids;       /* the batch: queued objects, in order */
	struct typed_walk *walks;  /* one per object */
	struct typing_log *logs;   /* one per chunk */
};

static void typing_chunk(void *arg, size_t chunk, size_t begin, size_t end)
{
	struct typing_batch *tb = arg;
	struct typing_log *log = &tb->logs[chunk];
	struct recent_type recent[TYPE_CACHE] = { { 0 } };
	struct builder b = *tb->b;  /* the walk's own window, type cache and log */
	b.log = log;
	b.recent_types = recent;
	for (size_t i = begin; i < end; i++) {
		struct typed_walk *w = &tb->walks[i];
		size_t before = log->nsteps;
		*w = (struct typed_walk){ .id = tb->ids[i], .otype = b.o->type[tb->ids[i]] };
		log->bad_types = 0;
		if (!log->full)
			walk_object(&b, w->id);
		w->redo = log->full;
		if (w->redo)
			log->nsteps = before;
		w->nsteps = (uint32_t)(log->nsteps - before);
		w->bad_types = log->bad_types;
	}
}

/* Type the first n queued objects: walked on the pool, their steps taken here in queue order. */
static struct memdbg_error *typing_batch(struct builder *b, size_t n, struct typing_batch *tb)
{
	size_t nchunks = (n + TYPING_GRAIN - 1) / TYPING_GRAIN;
	tb->ids = b->queue + b->qhead;
	for (size_t c = 0; c < nchunks; c++) {
		tb->logs[c].nsteps = 0;
		tb->logs[c].full = false;
	}
	struct memdbg_error *err = memdbg_parallel(b->t, b->p, "typing objects", n, TYPING_GRAIN, typing_chunk, tb);
	b->qhead += n;  /* the queue may move as steps push to it: walks hold their ids */
	if (err)
		return err;
	struct go_objects *o = b->o;
	for (size_t c = 0; c < nchunks; c++) {
		const struct typing_step *s = tb->logs[c].steps;
		for (size_t i = c * TYPING_GRAIN; i < n && i < (c + 1) * TYPING_GRAIN; i++) {
			const struct typed_walk *w = &tb->walks[i];
			if (w->redo || o->type[w->id] != w->otype) {
				walk_object(b, w->id);  /* its type changed since: what one thread would walk now */
			} else {
				o->bad_types += w->bad_types;
				for (uint32_t k = 0; k < w->nsteps; k++)
					take_step(b, &s[k]);
			}
			s += w->nsteps;
		}
	}
	return NULL;
}

/*
 * Objects are typed in waves: each newly typed object is walked once for its
 * typed pointers, in queue order.  With more than one thread, a wide enough
 * stretch of the queue is typed as a batch (typing_batch).
 */
static struct memdbg_error *propagate_types(struct builder *b)
{
	struct go_objects *o = b->o;
	struct memdbg_error *err = NULL;
	size_t nchunks = TYPING_BATCH_MAX / TYPING_GRAIN;
	struct typing_batch tb = { .b = b };
	if (memdbg_target_jobs(b->t) > 1) {  /* one thread would replay every batch for nothing */
		tb.walks = calloc(TYPING_BATCH_MAX, sizeof(*tb.walks));
		tb.logs = calloc(nchunks, sizeof(*tb.logs));
	}
	bool batches = tb.walks && tb.logs;  /* else (one thread, or no memory) one object at a time */
	while (b->qhead < b->qtail && !err) {
		if ((err = memdbg_check_interrupt(b->p)))
			break;
		size_t n = b->qtail - b->qhead;
		if (batches && n >= TYPING_BATCH_MIN) {
			memdbg_progress(b->p, "typing objects", b->qhead, o->nslots);
			err = typing_batch(b, n < TYPING_BATCH_MAX ? n : TYPING_BATCH_MAX, &tb);
			continue;
		}
		if ((b->qhead & 0xffff) == 0)
			memdbg_progress(b->p, "typing objects", b->qhead, o->nslots);
		walk_object(b, b->queue[b->qhead++]);
	}
	for (size_t c = 0; tb.logs && c < nchunks; c++)
		free(tb.logs[c].steps);
	free(tb.logs);
	free(tb.walks);
	if (err)
		return err;
	b->qhead = b->qtail = 0;
	memdbg_progress(b->p, "typing objects", 1, 1);
	return NULL;
}

/* ---- pointers (for marking) ---- */

/* Count a problem from any thread of a parallel pass. */
static void count_problem(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* The word at a of an object whose bytes are mapped at data (NULL: read it). */
static uint64_t object_word(struct builder *b, const uint8_t *data, uint64_t base, uint64_t a)
{
	uint64_t v;
	if (!data)
		return word(b, a);
	memcpy(&v, data + (a - base), 8);
	return v;
}

/*
 * Call fn for every pointer slot of object id, from the runtime's own
 * pointer maps.  The object and its heap bits are looked up once (a core's
 * bytes are mapped), not word by word; safe on any thread of a parallel pass.
 */
static void for_each_pointer(struct builder *b, uint64_t id, void (*fn)(struct builder *, uint64_t slot, uint64_t v))
{
	const struct go_heap_span *h = go_span_of_id(b->o, id);
	if (h->noscan)
		return;
	uint64_t base = go_id_addr(h, id), words = h->elemsize / 8;
	if (h->heap_bits) {
		uint64_t bits;
		if (!slot_heap_bits(b, h, id, &bits)) {
			count_problem(&b->o->unreadable_bits);
			return;
		}
		const uint8_t *data = memdbg_peek(b->t, base, h->elemsize);
		for (uint64_t w = 0; w < words; w++)
			if ((bits >> w) & 1)
				fn(b, base + 8 * w, object_word(b, data, base, base + 8 * w));
		return;
	}
	uint64_t tp = h->header ? word(b, base) : h->large_type, start = h->header ? base + MALLOC_HEADER : base;
	uint64_t end = h->large_type ? h->limit : base + h->elemsize;
	struct memdbg_error *err = NULL;
	const struct go_type *ty = tp ? go_type_at(b->t, b->go, tp, &err) : NULL;
	if (err) {
		memdbg_error_destroy(err);
		count_problem(&b->o->bad_types);
	}
	if (!ty || !ty->size || ty->size % 8 || end < start)
		return;
	const uint8_t *mask = go_type_mask(b->t, b->go, ty), *data = memdbg_peek(b->t, start, end - start);
	uint64_t ptrwords = ty->ptrbytes / 8;
	if (!mask)
		return;
	/* Element by element ("[n]T" repeats T's mask); words past T's last pointer hold none. */
	for (uint64_t e = start; e + 8 <= end; e += ty->size)
		for (uint64_t w = 0; w < ptrwords && e + 8 * w + 8 <= end; w++)
			if ((mask[w / 8] >> (w % 8)) & 1)
				fn(b, e + 8 * w, object_word(b, data, start, e + 8 * w));
}

/*
 * Marking runs on every thread of the pool.  Each thread scans objects from
 * its own stack and pushes there what they point to, claiming each object by
 * an atomic test-and-set of its live bit, so every object is scanned once
 * whatever the threads.  A thread holding more than one object gives the
 * older half to the shared list when another thread is idle; all threads
 * idle with the list empty is the end.  What marking leaves is a set (the
 * live bits, and the problems counted once per scanned object), the same
 * as one thread's in any order.
 */
#define MARK_GRAIN 4096  /* objects scanned between looks at the other threads */

struct mark_pass {
	struct builder *b;
	pthread_t caller;           /* the thread that may report progress and poll for an interrupt */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	uint32_t *shared;           /* objects to scan, for any thread (under lock) */
	size_t nshared, shared_cap;
	unsigned joined, idle;      /* threads in the pass, and those waiting for work (under lock) */
	bool done, enomem;
	struct memdbg_error *err;   /* an interrupt */
	uint64_t scanned;
};

struct mark_stack {
	struct mark_pass *mp;
	uint32_t *ids;
	size_t n, cap;
	bool enomem;
};

/* Set bit id; false when it was set already (by any thread). */
static bool claim(uint8_t *bits, uint64_t id)
{
	uint8_t bit = (uint8_t)(1u << (id % 8));
	if (__atomic_load_n(&bits[id / 8], __ATOMIC_RELAXED) & bit)
		return false;
	return !(__atomic_fetch_or(&bits[id / 8], bit, __ATOMIC_RELAXED) & bit);
}

/* Room for want ids in *ids (go_grow makes room for one more). */
static bool mark_reserve(uint32_t **ids, size_t *cap, size_t want)
{
	while (*cap < want)
		if (!go_grow((void **)ids, cap, *cap, sizeof(**ids)))
			return false;
	return true;
}

static bool mark_stack_push(struct mark_stack *s, uint64_t id)
{
	if (!go_grow((void **)&s->ids, &s->cap, s->n, sizeof(*s->ids))) {
		s->enomem = true;
		return false;
	}
	s->ids[s->n++] = (uint32_t)id;
	return true;
}

static void mark_found(void *arg, uint64_t slot, uint64_t v)
{
	struct mark_stack *s = arg;
	uint64_t id;
	if (v && go_object_at(s->mp->b->o, v, &id) && claim(s->mp->b->o->live, id))
		mark_stack_push(s, id);
}

/* Move the older half of the stack to the shared list, and wake a thread for it. */
static void mark_give(struct mark_stack *s)
{
	struct mark_pass *mp = s->mp;
	size_t k = s->n / 2;
	pthread_mutex_lock(&mp->lock);
	if (mark_reserve(&mp->shared, &mp->shared_cap, mp->nshared + k)) {
		memcpy(mp->shared + mp->nshared, s->ids, k * sizeof(*s->ids));
		mp->nshared += k;
		memmove(s->ids, s->ids + k, (s->n - k) * sizeof(*s->ids));
		s->n -= k;
		pthread_cond_signal(&mp->wake);
	}
	pthread_mutex_unlock(&mp->lock);
}

static void mark_stop(struct mark_pass *mp, struct memdbg_error *err)
{
	pthread_mutex_lock(&mp->lock);
	mp->err = err;
	__atomic_store_n(&mp->done, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&mp->wake);
	pthread_mutex_unlock(&mp->lock);
}

/* Scan the thread's own stack empty. */
static void mark_scan(struct mark_stack *s, struct builder *tb, bool caller)
{
	struct mark_pass *mp = s->mp;
	for (size_t since = 0; s->n && !__atomic_load_n(&mp->done, __ATOMIC_RELAXED);) {
		for_each_pointer(tb, s->ids[--s->n], visit_pointer);
		if (++since < MARK_GRAIN)
			continue;
		since = 0;
		uint64_t scanned = __atomic_add_fetch(&mp->scanned, MARK_GRAIN, __ATOMIC_RELAXED);
		if (caller) {
			struct memdbg_error *err = memdbg_poll_interrupt(mp->b->p);
			if (err)
				mark_stop(mp, err);
			memdbg_progress(mp->b->p, "marking live objects", scanned, mp->b->o->nslots);
		}
		if (s->n > 1 && __atomic_load_n(&mp->idle, __ATOMIC_RELAXED))
			mark_give(s);
	}
}

/* One thread of the pass: its chunk is the whole mark, until every thread is idle. */
static void mark_thread(void *arg, size_t chunk, size_t begin, size_t end)
{
	struct mark_pass *mp = arg;
	struct mark_stack s = { .mp = mp };
	struct pointer_visit pv = { mark_found, &s };
	struct builder tb = { .t = mp->b->t, .go = mp->b->go, .o = mp->b->o, .visit = &pv };
	bool caller = pthread_equal(pthread_self(), mp->caller);
	pthread_mutex_lock(&mp->lock);
	if (!mp->done)
		mp->joined++;
	while (!mp->done) {
		if (!mp->nshared) {
			if (__atomic_add_fetch(&mp->idle, 1, __ATOMIC_RELAXED) == mp->joined) {
				__atomic_store_n(&mp->done, true, __ATOMIC_RELAXED);
				pthread_cond_broadcast(&mp->wake);
			} else {
				pthread_cond_wait(&mp->wake, &mp->lock);
			}
			__atomic_sub_fetch(&mp->idle, 1, __ATOMIC_RELAXED);
			continue;
		}
		size_t take = (mp->nshared + 1) / 2;
		if (!mark_reserve(&s.ids, &s.cap, s.n + take)) {
			s.enomem = true;
			__atomic_store_n(&mp->done, true, __ATOMIC_RELAXED);
			pthread_cond_broadcast(&mp->wake);
			break;
		}
		mp->nshared -= take;
		memcpy(s.ids + s.n, mp->shared + mp->nshared, take * sizeof(*s.ids));
		s.n += take;
		pthread_mutex_unlock(&mp->lock);
		mark_scan(&s, &tb, caller);
		if (s.enomem)
			mark_stop(mp, NULL);
		pthread_mutex_lock(&mp->lock);
	}
	mp->enomem |= s.enomem;
	pthread_mutex_unlock(&mp->lock);
	free(s.ids);
}

static struct memdbg_error *mark(struct builder *b)
{
	struct mark_pass mp = { .b = b, .caller = pthread_self() };
	struct mark_stack roots = { .mp = &mp };
	for (size_t i = 0; i < b->o->nroots; i++) {
		const struct go_root *r = &b->o->roots[i];
		mark_found(&roots, r->addr, r->weak ? 0 : r->target);
	}
	mp.shared = roots.ids;
	mp.nshared = roots.n;
	mp.shared_cap = roots.cap;
	struct memdbg_error *err = roots.enomem ? memdbg_enomem : NULL;
	if (!err && (pthread_mutex_init(&mp.lock, NULL) || pthread_cond_init(&mp.wake, NULL)))
		err = memdbg_enomem;
	if (!err) {
		err = memdbg_parallel(b->t, b->p, "marking live objects", memdbg_target_jobs(b->t), 1, mark_thread, &mp);
		pthread_mutex_destroy(&mp.lock);
		pthread_cond_destroy(&mp.wake);
	}
	free(mp.shared);
	if (!err)
		err = mp.err ? mp.err : mp.enomem ? memdbg_enomem : NULL;
	return err;
}

/* ---- roots ---- */

static struct memdbg_error *add_root(struct builder *b, enum go_root_kind kind, const char *name, uint64_t addr,
				     uint64_t target, bool weak)
{
	uint64_t id;
	if (!target || !go_object_at(b->o, target, &id))
		return NULL;
	struct go_objects *o = b->o;
	if (o->nroots == o->roots_cap) {
		size_t cap = o->roots_cap ? 2 * o->roots_cap : 1024;
		struct go_root *r = realloc(o->roots, cap * sizeof(*r));
		if (!r)
			return memdbg_enomem;
		o->roots = r;
		o->roots_cap = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return memdbg_enomem;
	o->roots[o->nroots++] = (struct go_root){ .kind = kind, .name = copy, .addr = addr, .target = target,
						  .object = id, .weak = weak };
	return NULL;
}

static struct memdbg_error *collect_global(void *arg, const struct memdbg_global *g)
{
	struct builder *b = arg;
	struct global_name **list = g->part ? &b->gparts : &b->gnames;
	size_t *n = g->part ? &b->ngparts : &b->ngnames;
	struct global_name *grown = realloc(*list, (*n + 1) * sizeof(*grown));
	if (!grown)
		return memdbg_enomem;
	*list = grown;
	grown[(*n)++] = (struct global_name){ g->addr + b->t->bias, g->size, g->runtime_type, g->name, g->type_name,
					      g->has_runtime_type, g->shape };
	return NULL;
}

static int gname_cmp(const void *a, const void *c)
{
	const struct global_name *x = a, *y = c;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The DWARF global holding addr, or NULL. */
static const struct global_name *global_at(const struct builder *b, uint64_t addr)
{
	size_t lo = 0, hi = b->ngnames;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->gnames[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < b->gnames[lo - 1].addr + (b->gnames[lo - 1].size ? b->gnames[lo - 1].size : 8))
		return &b->gnames[lo - 1];
	return NULL;
}

/*
 * The name of a word of the module's data or bss that no symbol names (a
 * compiler's static temporary, or any global without symbols): its section
 * and offset, "data+0x1a0", as go_stripped names them.
 */
static bool static_name(struct builder *b, uint64_t addr, char *buf, size_t len)
{
	static const char *const sections[] = { "data", "bss" };
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(sections); i++) {
		char lo_name[32], hi_name[32];
		uint64_t lo, hi;
		snprintf(lo_name, sizeof(lo_name), "runtime.%s", sections[i]);
		snprintf(hi_name, sizeof(hi_name), "runtime.e%s", sections[i]);
		if (memdbg_target_symbol(b->t, lo_name, &lo, NULL) && memdbg_target_symbol(b->t, hi_name, &hi, NULL) &&
		    addr >= lo && addr < hi) {
			snprintf(buf, len, "%s+0x%" PRIx64, sections[i], addr - lo);
			return true;
		}
	}
	return false;
}

/*
 * Pools that are no DWARF variable (none is without DWARF; with it, a
 * static temporary, `var p = &sync.Pool{...}`): the runtime lists the
 * sync.Pools in use (sync.allPools, oldPools), and those in the data or bss
 * are named by their section and offset and typed sync.Pool, as DWARF would.
 */
static struct memdbg_error *collect_pool_globals(struct builder *b)
{
	static const char *const lists[] = { "sync.allPools", "sync.oldPools" };
	uint64_t types, size, pool_type = go_type_by_name(b->t, b->go, "sync.Pool");
	if (!pool_type || !memdbg_target_symbol(b->t, "runtime.types", &types, NULL) ||
	    !memdbg_dwarf_type_size(b->t->dwarf, "sync.Pool", &size))
		return NULL;
	for (size_t k = 0; k < MEMDBG_ARRAY_SIZE(lists); k++) {
		uint64_t slice, array, len, off;
		if (!memdbg_target_symbol(b->t, lists[k], &slice, NULL))
			continue;
		array = word(b, slice);
		len = word(b, slice + 8);
		for (uint64_t i = 0; i < len && i < 4096; i++) {
			uint64_t pool = word(b, array + 8 * i);
			char buf[32];
			const char *name = memdbg_target_symbol_at(b->t, pool, &off, buf, sizeof(buf));
			if (!name && static_name(b, pool, buf, sizeof(buf)))
				name = buf;
			if (name != buf || global_at(b, pool))
				continue;  /* a heap object, a symbol's (DWARF's variable), or seen */
			struct global_name *n = realloc(b->gnames, (b->ngnames + 1) * sizeof(*n));
			char **names = realloc(b->pool_names, (b->npool_names + 1) * sizeof(*names));
			if (n)
				b->gnames = n;
			if (names)
				b->pool_names = names;
			if (!n || !names || !(b->pool_names[b->npool_names] = strdup(buf)))
				return memdbg_enomem;
			b->gnames[b->ngnames++] = (struct global_name){ pool, size, pool_type - types,
									b->pool_names[b->npool_names++], "sync.Pool", true,
									MEMDBG_GLOBAL_VALUE };
			qsort(b->gnames, b->ngnames, sizeof(*b->gnames), gname_cmp);
		}
	}
	return NULL;
}

/*
 * The variable a global root is a word of.  A word of an array of pools ([N]sync.Pool, the compiler's
 * ssa.poolFreeValueSlice) belongs to its element: a pool of its own, as findings and who-holds read
 * a sync.Pool global (without DWARF the code types each element so).
 */
static void set_root_global(struct builder *b, struct go_root *r, const struct global_name *g)
{
	const char *elem = g->type_name && g->type_name[0] == '[' ? strchr(g->type_name, ']') : NULL;
	uint64_t size;
	r->global_type = g->type_name;
	r->global_base = g->addr;
	if (elem && strcmp(elem + 1, "sync.Pool") == 0 && memdbg_dwarf_type_size(b->t->dwarf, "sync.Pool", &size) &&
	    size) {
		r->global_type = "sync.Pool";
		r->global_base = g->addr + (r->addr - g->addr) / size * size;
	}
}

/* data and bss, word by word as the module's GC masks say. */
static struct memdbg_error *global_roots(struct builder *b, uint64_t md)
{
	const struct obj_layout *l = &b->l;
	struct {
		uint64_t lo_off, hi_off, mask_off;
	} sections[2] = { { l->md_data, l->md_edata, l->md_gcdatamask }, { l->md_bss, l->md_ebss, l->md_gcbssmask } };
	for (int s = 0; s < 2; s++) {
		uint64_t lo = word(b, md + sections[s].lo_off), hi = word(b, md + sections[s].hi_off);
		b->globals_lo = s ? b->globals_lo : lo;
		b->globals_hi = hi;
		uint64_t nbits = (uint32_t)word(b, md + sections[s].mask_off + l->bv_n);
		uint64_t bytes = word(b, md + sections[s].mask_off + l->bv_bytedata);
		if (hi < lo || nbits > (hi - lo) / 8 + 64)
			return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "module data/bss bounds are inconsistent");
		uint8_t *mask = malloc(nbits / 8 + 1);
		if (!mask)
			return memdbg_enomem;
		struct memdbg_error *err = memdbg_read(b->t, bytes, mask, (nbits + 7) / 8);
		if (err) {
			free(mask);
			return memdbg_error_prefix(err, "reading the GC mask of %s", s ? "bss" : "data");
		}
		for (uint64_t w = 0; w < nbits && !err; w++) {
			if (!go_bit(mask, w))
				continue;
			uint64_t a = lo + 8 * w;
			const struct global_name *g = global_at(b, a);
			uint64_t off = 0;
			char buf[64];
			const char *sym = g ? g->name : memdbg_target_symbol_at(b->t, a, &off, buf, sizeof(buf));
			char name[512];
			if (g && a != g->addr)
				snprintf(name, sizeof(name), "%s+%" PRIu64, g->name, a - g->addr);
			else if (!g && sym && off)
				snprintf(name, sizeof(name), "%s+%" PRIu64, sym, off);
			else if (sym)
				snprintf(name, sizeof(name), "%s", sym);
			else if (!static_name(b, a, name, sizeof(name)))  /* a static temporary's: as without DWARF */
				snprintf(name, sizeof(name), "unnamed global");
			err = add_root(b, GO_ROOT_GLOBAL, name, a, word(b, a), false);
			if (!err && g && b->o->nroots && b->o->roots[b->o->nroots - 1].addr == a)
				set_root_global(b, &b->o->roots[b->o->nroots - 1], g);
		}
		free(mask);
		if (err)
			return err;
	}
	return NULL;
}

/* The root just added (if any) holds a function value. */
static void mark_last_root_func(struct builder *b, uint64_t fn)
{
	struct go_objects *o = b->o;
	if (o->nroots && o->roots[o->nroots - 1].target == fn)
		o->roots[o->nroots - 1].is_func = true;
}

static void add_pointer_root(struct builder *b, uint64_t slot, uint64_t v)
{
	if (!b->root_err)
		b->root_err = add_root(b, b->root_kind, b->root_name, slot, v, false);
}

/* Every pointer slot of object id becomes a root of the given kind and name. */
static struct memdbg_error *object_referents_as_roots(struct builder *b, uint64_t id, enum go_root_kind kind,
						      const char *name)
{
	b->root_name = name;
	b->root_kind = kind;
	b->root_err = NULL;
	for_each_pointer(b, id, add_pointer_root);
	return b->root_err;
}

static struct memdbg_error *note_frame_var(void *arg, const struct memdbg_frame_var *v)
{
	struct frame_scan *fs = arg;
	if (!go_grow((void **)&fs->vars, &fs->vars_cap, fs->nvars, sizeof(*fs->vars)))
		return memdbg_enomem;
	fs->vars[fs->nvars++] = (struct stack_var){ fs->f->fp + (uint64_t)v->cfa_offset, v->size ? v->size : 8,
						    v->runtime_type, fs->f->fp + (uint64_t)v->count_offset, v->name,
						    fs->f->depth, v->shape, v->has_runtime_type };
	return NULL;
}

/* Index of the first variable of frame f (loading the frame's variables on first use); nvars: none. */
static size_t frame_vars(struct frame_scan *fs, const struct go_frame *f)
{
	uintptr_t at = (uintptr_t)go_map_get(&fs->frames, (uint64_t)f->depth + 1);
	if (at)
		return at - 1;
	size_t first = fs->nvars;
	fs->f = f;
	struct memdbg_error *err = memdbg_dwarf_frame_vars(fs->b->t->dwarf, f->sym_pc - fs->b->t->bias, note_frame_var, fs);
	if (err) {
		memdbg_error_destroy(err);  /* unnamed is all it costs */
		fs->nvars = first;
	}
	if (!go_map_put(&fs->frames, (uint64_t)f->depth + 1, (void *)(uintptr_t)(first + 1)))
		return fs->nvars;
	return first;
}

/* Does v's type say word w of it is a pointer?  *known is false when v has no runtime type. */
static bool var_word_is_ptr(struct frame_scan *fs, const struct stack_var *v, uint64_t w, bool *known)
{
	struct builder *b = fs->b;
	*known = v->has_type && fs->types_base;
	if (!*known)
		return false;
	if (v->shape == MEMDBG_GLOBAL_POINTER_TO || v->shape == MEMDBG_GLOBAL_SLICE_OF)
		return w == 0;
	const struct go_type *ty = type_at(b, fs->types_base + v->runtime_type);
	if (!ty || !ty->size) {
		*known = false;
		return false;
	}
	if (v->shape == MEMDBG_GLOBAL_ARRAY_OF) {
		if (ty->size % 8)
			return false;
		w %= ty->size / 8;
	}
	return go_type_word_is_ptr(b->t, b->go, ty, w);
}

/*
 * The one variable of frame f that holds the live pointer slot at addr: in
 * scope at the frame's pc, covering addr, and (when typed) with a pointer
 * word there.  NULL when none does or several do (the compiler may give
 * variables whose lifetimes do not overlap the same slot).
 */
static const struct stack_var *var_at(struct frame_scan *fs, const struct go_frame *f, uint64_t addr)
{
	const struct stack_var *found = NULL;
	for (size_t i = frame_vars(fs, f); i < fs->nvars && fs->vars[i].frame == f->depth; i++) {
		const struct stack_var *v = &fs->vars[i];
		bool known;
		if (addr < v->addr || addr >= v->addr + v->size ||
		    (!var_word_is_ptr(fs, v, (addr - v->addr) / 8, &known) && known) || (addr - v->addr) % 8)
			continue;
		if (found)
			return NULL;
		found = v;
	}
	return found;
}

/* A live local slot of a frame whose code types it (go_stripped_local_types): typed last. */
static struct memdbg_error *note_code_local(struct builder *b, const struct go_frame *f, uint64_t addr)
{
	const struct go_local_store key = { .entry = f->fn->entry, .off = (int64_t)(addr - f->fp) }, *l;
	l = b->ncode_locals ? bsearch(&key, b->code_locals, b->ncode_locals, sizeof(key), go_local_store_cmp) : NULL;
	if (!l || l->shape == GO_GSTORE_SLICE)  /* a slice's capacity need not be two words on in a frame */
		return NULL;
	if (!go_grow((void **)&b->code_slots, &b->code_slots_cap, b->ncode_slots, sizeof(*b->code_slots)))
		return memdbg_enomem;
	b->code_slots[b->ncode_slots++] = (struct go_global_store){ addr, l->type, l->shape, l->field };
	return NULL;
}

/*
 * Without DWARF, a live receiver of a method frame (go_stripped_receiver):
 * typed last, as new(T) is, so only an object that is one T by its size
 * class and GC bits takes it (a *T may point to a T that starts a larger
 * object, as net.netFD starts with its poll.FD).
 */
static struct memdbg_error *note_code_receiver(struct frame_scan *fs, const struct go_frame *f, uint64_t addr)
{
	struct builder *b = fs->b;
	struct go_stripped *st = go_stripped_of(b->t);
	int64_t off;
	uint64_t type;
	if (!st || !go_stripped_receiver(st, fs->s, f->fn, &off, &type) || addr != f->argp + (uint64_t)off)
		return NULL;
	if (!go_grow((void **)&b->code_slots, &b->code_slots_cap, b->ncode_slots, sizeof(*b->code_slots)))
		return memdbg_enomem;
	b->code_slots[b->ncode_slots++] = (struct go_global_store){ addr, type, GO_GSTORE_NEW };
	return NULL;
}

/*
 * Without DWARF, the sudog a goroutine parked in sync.Cond.Wait or on a
 * semaphore waits with: notifyListWait's and semacquire1's s := acquireSudog(),
 * live across the park, its g set to the goroutine before it parks.  A live
 * slot of such a frame pointing to an object that starts with that g's
 * address in sudog.g is the sudog (the frame's other pointers, the notify
 * list or the semaphore's address, point into a Cond, a Mutex or a
 * WaitGroup); nothing else types it (the list and the semaphore treap link
 * sudogs through words a stripped build has no type for).  Typed last, as
 * new(sudog) is: its size class and GC bits must fit.
 */
static struct memdbg_error *note_waiter_sudog(struct frame_scan *fs, const struct go_frame *f, const struct go_slot *slot)
{
	struct builder *b = fs->b;
	static const char *const parks[] = { "sync.runtime_notifyListWait", "runtime.semacquire1" };
	bool parked = false;
	for (size_t i = 0; i < sizeof(parks) / sizeof(*parks) && !parked; i++)
		parked = f->func && strcmp(f->func, parks[i]) == 0;
	uint64_t id;
	if (!parked || !b->sudog_type || !base_object(b, slot->value, &id) ||
	    word(b, slot->value + b->sudog_g) != fs->g->addr)
		return NULL;
	if (!go_grow((void **)&b->code_slots, &b->code_slots_cap, b->ncode_slots, sizeof(*b->code_slots)))
		return memdbg_enomem;
	b->code_slots[b->ncode_slots++] = (struct go_global_store){ slot->addr, b->sudog_type, GO_GSTORE_NEW };
	return NULL;
}

/*
 * One root per stack word, as for globals: "goroutine 17 frame main.handle
 * var buf+8" where DWARF names the variable, else the word's place in the
 * frame, "... sp+0x48"; a recursive function's frames add their depth
 * ("frame #12 main.walk"), or the same word of two of them would be one root.
 */
static bool scan_slot(void *arg, const struct go_frame *f, const struct go_slot *slot)
{
	struct frame_scan *fs = arg;
	char name[512];
	int n = snprintf(name, sizeof(name), "goroutine %" PRIu64, fs->g->goid);
	size_t len = n > 0 && (size_t)n < sizeof(name) ? (size_t)n : 0;
	const struct stack_var *v = NULL;
	if (f && slot->precise) {
		if (!go_grow((void **)&fs->live, &fs->live_cap, fs->nlive, sizeof(*fs->live))) {
			fs->err = memdbg_enomem;
			return false;
		}
		fs->live[fs->nlive++] = slot->addr;
		v = var_at(fs, f, slot->addr);
	}
	char depth[16] = "";
	if (f && f->recursive)
		snprintf(depth, sizeof(depth), "#%" PRIu32 " ", f->depth);
	if (f && v)
		snprintf(name + len, sizeof(name) - len,
			 slot->addr > v->addr ? " frame %s%s var %s+%" PRIu64 : " frame %s%s var %s", depth, f->func,
			 v->name, slot->addr - v->addr);
	else if (f)
		snprintf(name + len, sizeof(name) - len, " frame %s%s sp+0x%" PRIx64 "%s", depth, f->func,
			 slot->addr - f->sp, slot->precise ? "" : " (conservative)");
	else if (slot->kind == GO_SLOT_CTXT)
		snprintf(name + len, sizeof(name) - len, " sched.ctxt");
	else if (slot->kind == GO_SLOT_DEFER)
		snprintf(name + len, sizeof(name) - len, " defer record");
	else
		snprintf(name + len, sizeof(name) - len, " (conservative, past the unwound frames)");
	static const char *const where[] = { [GO_SLOT_LOCAL] = "local", [GO_SLOT_ARG] = "arg",
					     [GO_SLOT_OBJECT] = "stack object", [GO_SLOT_CTXT] = "sched.ctxt",
					     [GO_SLOT_DEFER] = "defer", [GO_SLOT_REST] = "conservative" };
	struct go_objects *o = fs->b->o;
	size_t before = o->nroots;
	fs->err = add_root(fs->b, GO_ROOT_STACK, name, slot->addr, slot->value, false);
	if (o->nroots > before)
		o->roots[before].where = slot->precise ? where[slot->kind] : "conservative";
	if (!fs->err && f && f->fn && slot->precise && (slot->kind == GO_SLOT_LOCAL || slot->kind == GO_SLOT_ARG))
		fs->err = note_code_local(fs->b, f, slot->addr);
	if (!fs->err && f && f->fn && slot->precise && slot->kind == GO_SLOT_ARG)
		fs->err = note_code_receiver(fs, f, slot->addr);
	if (!fs->err && f && f->fn && slot->precise)
		fs->err = note_waiter_sudog(fs, f, slot);
	return !fs->err;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool is_live_slot(const struct frame_scan *fs, uint64_t addr)
{
	return fs->nlive && bsearch(&addr, fs->live, fs->nlive, sizeof(*fs->live), u64_cmp) != NULL;
}

/*
 * A variable seeds type propagation only when the runtime agrees it is there:
 * each of its pointer words is a live slot that no other variable claims.
 * A dead variable, or one whose slot now holds another's value, types nothing.
 */
static struct memdbg_error *keep_typed_vars(struct frame_scan *fs)
{
	struct builder *b = fs->b;
	if (fs->nlive)
		qsort(fs->live, fs->nlive, sizeof(*fs->live), u64_cmp);
	for (size_t i = 0; i < fs->nvars; i++) {
		const struct stack_var *v = &fs->vars[i];
		bool known, ok = v->has_type && v->size % 8 == 0, any = false;
		uint64_t words = v->size / 8;
		if (ok && v->shape == MEMDBG_GLOBAL_VALUE) {
			const struct go_type *ty = type_at(b, fs->types_base + v->runtime_type);
			words = ty && ty->ptrbytes / 8 < words ? ty->ptrbytes / 8 : words;
		}
		for (uint64_t w = 0; ok && w < words && w < MAX_ARRAY_WALK; w++) {
			if (!var_word_is_ptr(fs, v, w, &known))
				continue;
			any = true;
			uint64_t addr = v->addr + 8 * w;
			struct go_frame f = { .depth = v->frame };
			ok = is_live_slot(fs, addr) && var_at(fs, &f, addr) == v;
		}
		if (!ok || !any)
			continue;
		if (!go_grow((void **)&b->typed, &b->typed_cap, b->ntyped, sizeof(*b->typed)))
			return memdbg_enomem;
		b->typed[b->ntyped++] = (struct typed_slot){ v->addr, v->runtime_type, v->count_addr, v->shape };
	}
	return NULL;
}

/*
 * Goroutine stacks as the GC scans them (go_goroutine_slots): live slots of
 * each frame by its stack maps, reached stack objects, conservative frames
 * word by word.  DWARF only names the live slots and types the variables
 * that hold them.
 */
static struct memdbg_error *stack_roots(struct builder *b)
{
	struct go_stack *s;
	struct memdbg_error *err = go_stack_open(b->t, &s);
	if (err)
		return err;
	const struct go_goroutine *gs;
	size_t n, skipped;
	if ((err = go_goroutines(s, &gs, &n, &skipped))) {
		go_stack_close(s);
		return err;
	}
	uint64_t types_base = 0;
	if (!memdbg_target_symbol(b->t, "runtime.types", &types_base, NULL))
		types_base = 0;
	struct go_stripped *stripped = go_stripped_of(b->t);
	if (stripped)
		b->ncode_locals = go_stripped_local_types(stripped, s, &b->code_locals);
	if (stripped && !memdbg_dwarf_member(b->t->dwarf, "runtime.sudog", "g", &b->sudog_g, NULL))
		b->sudog_type = 0;
	else if (stripped)
		b->sudog_type = go_type_by_name(b->t, b->go, "runtime.sudog");
	struct go_scan_stats st = { 0 };
	b->o->conservative_stacks += skipped;
	for (size_t i = 0; i < n && !err; i++) {
		if (gs[i].dead)
			continue;
		struct frame_scan fs = { .b = b, .s = s, .g = &gs[i], .types_base = types_base };
		err = go_goroutine_slots(s, &gs[i], scan_slot, &fs, &st);
		if (!err)
			err = fs.err;
		if (!err)
			err = keep_typed_vars(&fs);
		if (err && memdbg_error_code(err) == MEMDBG_ERROR_FAULT) {
			memdbg_error_destroy(err);  /* a stack we cannot read: count it, go on */
			err = NULL;
			b->o->conservative_stacks++;
		}
		free(fs.vars);
		free(fs.live);
		go_map_free(&fs.frames);
	}
	struct go_objects *o = b->o;
	o->stack_frames = st.frames;
	o->conservative_frames = st.conservative_frames + st.bad_frames;
	o->stack_objects = st.objects;
	o->stack_objects_reached = st.objects_reached;
	o->conservative_stacks += st.incomplete;
	go_stack_close(s);
	return err;
}

static struct memdbg_error *module_roots(struct builder *b)
{
	uint64_t md;
	if (!memdbg_target_symbol(b->t, "runtime.firstmoduledata", &md, NULL))
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "runtime.firstmoduledata not found");
	return global_roots(b, md);
}

static void type_typed_slot(struct builder *b, uint64_t types_base, uint64_t addr, uint64_t rt, int shape,
			    uint64_t size, uint64_t count_addr);

/* Typed globals seed type propagation. */
static void type_globals(struct builder *b)
{
	uint64_t types_base;
	if (!memdbg_target_symbol(b->t, "runtime.types", &types_base, NULL))
		return;
	for (size_t i = 0; i < b->ngnames + b->ngparts; i++) {
		const struct global_name *g = i < b->ngnames ? &b->gnames[i] : &b->gparts[i - b->ngnames];
		if (g->has_type)
			type_typed_slot(b, types_base, g->addr, g->runtime_type, g->shape, g->size, g->addr + 16);
	}
}

/*
 * A typed root: the value at addr, or the element of the slice, pointer or
 * array there (a slice's capacity at count_addr: a spilled variable need not
 * be in one piece).
 */
static void type_typed_slot(struct builder *b, uint64_t types_base, uint64_t addr, uint64_t rt, int shape,
			    uint64_t size, uint64_t count_addr)
{
	const struct go_type *ty = type_at(b, types_base + rt);
	uint64_t id, n, p = word(b, addr);
	if (shape == MEMDBG_GLOBAL_VALUE)
		walk_value(b, ty, addr, 0);
	else if (shape == MEMDBG_GLOBAL_ARRAY_OF && ty && ty->size)
		for (uint64_t a = addr; a + ty->size <= addr + size; a += ty->size)
			walk_value(b, ty, a, 0);
	else if (shape == MEMDBG_GLOBAL_SLICE_OF ? ty && slice_array(b, ty, p, word(b, count_addr), &id, &n)
						   : ty && ty->size && base_object(b, p, &id))
		assign(b, id, ty, shape == MEMDBG_GLOBAL_SLICE_OF ? n : 0, NULL, addr);
}

/* Finalizer and cleanup functions are closures: their captured variables have types. */
static void type_special_closures(struct builder *b)
{
	for (size_t i = 0; i < b->o->nroots; i++) {
		const struct go_root *r = &b->o->roots[i];
		uint64_t id;
		if (r->kind == GO_ROOT_FINALIZER && r->is_func && base_object(b, r->target, &id))
			type_closure(b, id, r->target, r->addr);
	}
}

/* Stack variables holding live slots seed type propagation, like globals. */
static void type_stack_vars(struct builder *b)
{
	uint64_t types_base;
	if (!memdbg_target_symbol(b->t, "runtime.types", &types_base, NULL))
		return;
	for (size_t i = 0; i < b->ntyped; i++)
		type_typed_slot(b, types_base, b->typed[i].addr, b->typed[i].type, b->typed[i].shape, 0,
				b->typed[i].count_addr);
}

/* The entries of a []*T runtime global: the array as [cap]*T, each entry as T. */
static void type_runtime_list(struct builder *b, uint64_t slice, const char *elem)
{
	char ptr_name[64];
	snprintf(ptr_name, sizeof(ptr_name), "*%s", elem);
	const struct go_type *ty = type_at(b, go_type_by_name(b->t, b->go, elem)),
			     *ptr = type_at(b, go_type_by_name(b->t, b->go, ptr_name));
	uint64_t array = word(b, slice), len = word(b, slice + 8), cap = word(b, slice + 16), id;
	if (ptr && cap && len <= cap && base_object(b, array, &id))
		assign(b, id, ptr, cap, NULL, slice);
	for (uint64_t i = 0; ty && i < len && i < MAX_ARRAY_WALK; i++)
		if (base_object(b, word(b, array + 8 * i), &id))
			assign(b, id, ty, 0, NULL, array + 8 * i);
}

/*
 * What the runtime's own lists say, with or without DWARF: allgs holds Gs,
 * allp Ps, and allm the Ms (m0 among them, a global: what its fields point
 * to, its signal G for one, has no other typed holder).
 */
static void type_runtime_lists(struct builder *b)
{
	uint64_t allm, alllink;
	type_runtime_list(b, b->go->sym.allgs, "runtime.g");
	type_runtime_list(b, b->go->sym.allp, "runtime.p");
	const struct go_type *m = type_at(b, go_type_by_name(b->t, b->go, "runtime.m"));
	if (!m || !memdbg_target_symbol(b->t, "runtime.allm", &allm, NULL) ||
	    !memdbg_dwarf_member(b->t->dwarf, "runtime.m", "alllink", &alllink, NULL))
		return;
	uint64_t mp = word(b, allm);
	for (int i = 0; mp && i < 65536; i++, mp = word(b, mp + alllink))
		walk_value(b, m, mp, 0);
}

/*
 * Was object id allocated as one ty, as new(T) allocates it?  The size
 * class of ty's size (or a large object's exact size), and what the GC's
 * metadata says (gc_accepts).
 */
static bool type_fits(struct builder *b, uint64_t id, const struct go_type *ty)
{
	const struct go_heap_span *h = go_span_of_id(b->o, id);
	uint64_t count = 0;
	if (!ty->size)
		return false;
	if (go_size_class(b->go->spans[h->span].spanclass) == 0) {
		if (!h->large_type && h->limit - h->start != ty->size)
			return false;
	} else if (!(h->noscan && ty->size < 16 && h->elemsize == 16) &&  /* the tiny allocator's blocks */
		   class_slot(b->go, ty->size + (h->header ? MALLOC_HEADER : 0)) != h->elemsize) {
		return false;
	}
	return gc_accepts(b, h, id, ty, &count, NULL) && count <= 1;
}

/* [moduledata.types, etypes): where the type descriptors are, with or without symbols. */
static bool type_descriptors(struct builder *b, uint64_t *lo, uint64_t *hi)
{
	struct go_stripped *st = go_stripped_of(b->t);
	if (st) {
		go_stripped_types(st, lo, hi);
		return true;
	}
	return memdbg_target_symbol(b->t, "runtime.types", lo, NULL) && memdbg_target_symbol(b->t, "runtime.etypes", hi, NULL);
}

/*
 * The dynamic type of the interface whose data word is at addr, or NULL when
 * the word before it is no interface's type word: a type descriptor in
 * [lo, hi) (eface) or an itab, whose interface type is one (iface).
 */
static const struct go_type *interface_type(struct builder *b, uint64_t addr, uint64_t lo, uint64_t hi)
{
	/* Probes: a word that is no descriptor is no problem of the target's (go_type_at, not type_at). */
	uint64_t w0 = word(b, addr - 8), inter, id;
	const struct go_type *dyn = NULL;
	if (w0 >= lo && w0 < hi) {
		dyn = go_type_at(b->t, b->go, w0, NULL);
	} else if (w0 && !base_object(b, w0, &id) && (inter = word(b, w0)) >= lo && inter < hi) {
		/* itabs are never in the heap: the linker's, or persistentalloc's */
		const struct go_type *it = go_type_at(b->t, b->go, inter, NULL);
		uint64_t ty = it && it->kind == GO_KIND_INTERFACE && !it->iface_empty ? go_iface_type(b->t, b->go, it, w0) : 0;
		dyn = ty >= lo && ty < hi ? go_type_at(b->t, b->go, ty, NULL) : NULL;
	}
	return dyn && dyn->kind && dyn->name ? dyn : NULL;
}

/*
 * A global or stack variable without a type (none has without DWARF; with
 * it, a slot DWARF describes no variable for at that pc), but an interface
 * value says its own: a root word just after a type descriptor (eface) or
 * an itab (iface) is its data word, if what it points to fits that type
 * (two neighbouring pointer globals look the same).
 */
static void type_root_interfaces(struct builder *b)
{
	uint64_t lo, hi;
	if (!type_descriptors(b, &lo, &hi))
		return;
	for (size_t i = 0; i < b->o->nroots; i++) {
		const struct go_root *r = &b->o->roots[i];
		if ((r->kind != GO_ROOT_GLOBAL && r->kind != GO_ROOT_STACK) || strstr(r->name, "(conservative)"))
			continue;
		uint64_t id;
		const struct go_type *dyn = interface_type(b, r->addr, lo, hi);
		if (!dyn)
			continue;
		const struct go_type *obj = dyn->direct_iface ? dyn->kind == GO_KIND_POINTER ? type_at(b, dyn->elem) : NULL
							      : dyn;
		b->phase = r->kind == GO_ROOT_STACK ? GO_SRC_STACK : GO_SRC_GLOBAL;
		if (obj && base_object(b, r->target, &id) && !b->o->type[id] && type_fits(b, id, obj))
			assign(b, id, obj, 0, NULL, r->addr);
	}
}

/*
 * The pointer, slice, map or channel that begins at off in a value of type
 * ty, through its structs and arrays; NULL when no such value begins there.
 */
static const struct go_type *value_at(struct builder *b, const struct go_type *ty, uint64_t off)
{
	for (int depth = 0; ty && depth < MAX_WALK_DEPTH; depth++) {
		switch (ty->kind) {
		case GO_KIND_POINTER:
		case GO_KIND_SLICE:
		case GO_KIND_MAP:
		case GO_KIND_CHAN:
			return off == 0 ? ty : NULL;
		case GO_KIND_ARRAY: {
			const struct go_type *elem = type_at(b, ty->elem);
			if (!elem || !elem->size || off >= ty->size)
				return NULL;
			off %= elem->size;
			ty = elem;
			break;
		}
		case GO_KIND_STRUCT: {
			const struct go_type *in = NULL;
			for (size_t i = 0; i < ty->nfields && !in; i++) {
				const struct go_type *f = type_at(b, ty->fields[i].type);
				if (f && off >= ty->fields[i].offset && off - ty->fields[i].offset < f->size) {
					in = f;
					off -= ty->fields[i].offset;
				}
			}
			ty = in;
			break;
		}
		default:
			return NULL;
		}
	}
	return NULL;
}

/*
 * A word the code types with what it read at field of a new(T) (a closure's
 * captured variable): as the code types a word it stores an allocation of
 * that value's type into.  A slice's array pointer alone (its length and
 * capacity need not follow in a frame): the array the object has room for.
 */
static const struct go_type *field_store(struct builder *b, const struct go_type *ty, const struct go_global_store *g,
					 uint64_t p, enum go_gstore_shape *shape)
{
	const struct go_type *v = value_at(b, ty, g->field), *elem;
	uint64_t id, count;
	if (!v)
		return NULL;
	switch (v->kind) {
	case GO_KIND_POINTER:
		*shape = GO_GSTORE_NEW;
		return type_at(b, v->elem);
	case GO_KIND_SLICE:
		elem = type_at(b, v->elem);
		if (elem && elem->size && base_object(b, p, &id) && !b->o->type[id] &&
		    sized_for_array(b, id, count = object_room(b, id) / elem->size, elem->size))
			assign(b, id, elem, count, NULL, g->addr);
		return NULL;
	default:
		*shape = GO_GSTORE_VALUE;
		return v;
	}
}

/*
 * Without DWARF, what the program's code stores into a pointer global
 * (go_stripped_global_types) or a frame's slot (go_stripped_local_types):
 * the object it holds now, if it is still the start of an allocation of that
 * kind (new(T): the size class of T; a slice: the class of its capacity's
 * elements) that the GC's bits accept.  Not a global interface's data word:
 * what one holds changes type with what the code stores into the interface
 * (it is typed by its type word, type_root_interfaces).  A slot's every
 * write agrees, so a local interface's data word needs no such care.
 */
static void type_code_words(struct builder *b, const struct go_global_store *g, size_t n)
{
	uint64_t lo = 0, hi = 0;
	type_descriptors(b, &lo, &hi);
	for (size_t i = 0; i < n; i++) {
		const struct go_type *ty = type_at(b, g[i].type);
		uint64_t id, count, p = word(b, g[i].addr);
		enum go_gstore_shape shape = g[i].shape;
		if (shape == GO_GSTORE_FIELD && ty)
			ty = field_store(b, ty, &g[i], p, &shape);
		if (!ty || !ty->size || (g[i].after_pointer && interface_type(b, g[i].addr, lo, hi)))
			continue;
		if (shape == GO_GSTORE_VALUE && ty->kind == GO_KIND_STRUCT) {
			walk_value(b, ty, g[i].addr, 0);  /* the global is a T: its methods were called with its address */
			continue;
		}
		if (shape == GO_GSTORE_SLICE) {
			if (slice_array(b, ty, p, word(b, g[i].addr + 16), &id, &count) && !b->o->type[id] &&
			    sized_for_array(b, id, count, ty->size))
				assign(b, id, ty, count, NULL, g[i].addr);
			continue;
		}
		if (!base_object(b, p, &id) || b->o->type[id])
			continue;
		switch (shape) {
		case GO_GSTORE_NEW:
			/* A closure's context is new(struct { F uintptr; X0 ... }): named for its function, as DWARF does. */
			if (ty->kind == GO_KIND_STRUCT && ty->nfields && ty->fields[0].name && !strcmp(ty->fields[0].name, "F") &&
			    word(b, p) >= b->text_lo && word(b, p) < b->text_hi)
				type_closure(b, id, p, g[i].addr);
			else if (type_fits(b, id, ty))
				assign(b, id, ty, 0, NULL, g[i].addr);
			break;
		case GO_GSTORE_SLICE:  /* above */
		case GO_GSTORE_FIELD:  /* resolved above */
			break;
		case GO_GSTORE_VALUE:
			if (ty->kind == GO_KIND_MAP || ty->kind == GO_KIND_CHAN)
				walk_value(b, ty, g[i].addr, 0);
			break;
		}
	}
}

/*
 * With DWARF: a global DWARF gives no type (a variable of a func type without
 * a descriptor, a compiler's static) that the code only ever stores closures
 * of one context type into holds such a closure, as without DWARF: its
 * function's closures are made with that type.  And a word no DWARF variable
 * covers (a composite literal's static: hpack's staticTable, whose maps its
 * package's init makes) is typed from the code that stores into it, as
 * without DWARF.  The code is asked only when a global holds an untyped
 * object that begins with an entry in the text, or that such a word holds.
 */
static void type_code_dwarfless_globals(struct builder *b)
{
	uint64_t lo = 0, hi = 0, id, *unnamed = NULL;  /* the global roots' words no DWARF variable covers */
	size_t i, unnamed_cap = 0, nunnamed = 0;
	bool closure = false, asked = false;
	for (i = 0; i < b->o->nroots; i++) {
		const struct go_root *r = &b->o->roots[i];
		if (r->kind != GO_ROOT_GLOBAL || !base_object(b, r->target, &id) || b->o->type[id])
			continue;
		closure |= word(b, r->target) >= b->text_lo && word(b, r->target) < b->text_hi;
		asked |= !r->global_type;
	}
	if (closure)
		load_code_closure_types(b);
	if (!(closure || asked) || !code_of(b))
		return;
	const struct go_global_store *g = NULL;
	size_t n = go_stripped_global_types(b->go->code, &g);
	struct go_global_store *words = asked && n ? malloc(n * sizeof(*words)) : NULL;
	for (i = 0; words && i < b->o->nroots; i++)
		if (b->o->roots[i].kind == GO_ROOT_GLOBAL && !b->o->roots[i].global_type &&
		    go_grow((void **)&unnamed, &unnamed_cap, nunnamed, sizeof(*unnamed)))
			unnamed[nunnamed++] = b->o->roots[i].addr;
	if (unnamed)
		qsort(unnamed, nunnamed, sizeof(*unnamed), u64_cmp);
	type_descriptors(b, &lo, &hi);
	size_t nw = 0;
	for (i = 0; i < n; i++) {
		uint64_t v = word(b, g[i].addr);
		const struct go_type *ctx = base_object(b, v, &id) && !b->o->type[id] ? closure_context(b, word(b, v)) : NULL;
		if (g[i].shape == GO_GSTORE_NEW && ctx && ctx->addr == g[i].type &&
		    !(g[i].after_pointer && interface_type(b, g[i].addr, lo, hi)))
			type_closure(b, id, v, g[i].addr);
		else if (unnamed && bsearch(&g[i].addr, unnamed, nunnamed, sizeof(*unnamed), u64_cmp))
			words[nw++] = g[i];
	}
	if (nw)
		type_code_words(b, words, nw);
	free(words);
	free(unnamed);
}

static void type_code_globals(struct builder *b)
{
	struct go_stripped *st = go_stripped_of(b->t);
	const struct go_global_store *g = NULL;
	size_t n = st ? go_stripped_global_types(st, &g) : 0;  /* sets g: not inside the call, whose order is unspecified */
	if (st)
		type_code_words(b, g, n);
	else
		type_code_dwarfless_globals(b);
}

/* A swiss-table header's entry count is what its small group's control bytes, or its tables, say. */
static bool swiss_map_holds(struct builder *b, uint64_t m, const struct go_type *table)
{
	const struct obj_layout *l = &b->l;
	uint64_t used = word(b, m + l->smap_used), dir = word(b, m + l->smap_dir), n = word(b, m + l->smap_dirlen), id, sum = 0;
	if (!base_object(b, dir, &id))
		return false;
	if (n == 0) {
		uint64_t ctrl = word(b, dir), full = 0;
		for (int i = 0; i < 8; i++)
			full += !((ctrl >> (8 * i)) & 0x80);  /* the high bit is clear in a full slot's control byte */
		return used <= 8 && full == used;
	}
	if ((n & (n - 1)) || n > MAX_ARRAY_WALK || object_room(b, id) < 8 * n)
		return false;
	for (uint64_t i = 0, prev = 0; i < n; i++) {
		uint64_t tab = word(b, dir + 8 * i), tid, gid;
		if (tab == prev)
			continue;  /* a table with fewer hash bits has consecutive directory entries */
		if (!base_object(b, tab, &tid) || !type_fits(b, tid, table) || !base_object(b, word(b, tab + l->table_data), &gid))
			return false;
		sum += word(b, tab + l->table_used) & 0xffff;
		prev = tab;
	}
	return sum == used;
}

/* A swiss map header (go1.24+) and its directory and tables. */
static void type_map_header(struct builder *b, uint64_t id, uint64_t m, const struct go_type *map)
{
	const struct obj_layout *l = &b->l;
	const struct go_type *table = type_at(b, l->table_type), *ptr = type_at(b, l->table_ptr_type);
	uint64_t did, tid;
	if (!table || !ptr || !swiss_map_holds(b, m, table))
		return;
	assign(b, id, map, 0, NULL, m);
	uint64_t dir = word(b, m + l->smap_dir), n = word(b, m + l->smap_dirlen);
	if (!n || !base_object(b, dir, &did))
		return;
	assign(b, did, ptr, n, NULL, m + l->smap_dir);
	for (uint64_t e = 0; e < n; e++)
		if (base_object(b, word(b, dir + 8 * e), &tid))
			assign(b, tid, table, 0, NULL, dir + 8 * e);
}

/*
 * A channel names its element type (hchan.elemtype, of hchan.elemsize
 * bytes).  makechan allocates a pointer-free element type's buffer right
 * after the hchan in one noscan object, any other apart with new(hchan).
 */
/* What type_chan reads, looked up once per pass. */
struct chan_layout {
	const struct go_type *hchan;
	uint64_t et_off, es_off;  /* hchan.elemtype, hchan.elemsize */
	uint64_t lo, hi;          /* the module's type descriptors */
};

static void type_chan(struct builder *b, uint64_t id, uint64_t c, const struct chan_layout *cl)
{
	const struct obj_layout *l = &b->l;
	const struct go_type *hchan = cl->hchan;
	const struct go_heap_span *h = go_span_of_id(b->o, id);
	uint64_t et = word(b, c + cl->et_off), n = word(b, c + l->hchan_qsize), buf = word(b, c + l->hchan_buf), bid;
	const struct go_type *elem = et >= cl->lo && et < cl->hi ? go_type_at(b->t, b->go, et, NULL) : NULL;
	if (!elem || !elem->kind || elem->size != (word(b, c + cl->es_off) & 0xffff) || n > (1ull << 32))
		return;
	if (h->noscan ? elem->ptrbytes || class_slot(b->go, hchan->size + n * elem->size) != h->elemsize ||
				(n && elem->size && buf != c + hchan->size)
		      : !elem->ptrbytes || !type_fits(b, id, hchan))
		return;
	assign(b, id, hchan, 0, NULL, c);
	if (n && elem->size && base_object(b, buf, &bid))
		assign(b, bid, elem, n, NULL, c + l->hchan_buf);
}

/*
 * A map or channel no typed holder reaches (a global or a local without
 * DWARF, or whose DWARF type has no runtime type descriptor: a field of an
 * anonymous struct), but the runtime's own headers prove themselves: a
 * swiss map's entry count is what its group's control bytes or its tables
 * say, a channel names its element type.  (Their contents keep the types
 * their malloc headers give, or none.)
 */
static void type_self_describing(struct builder *b)
{
	const struct obj_layout *l = &b->l;
	struct go_objects *o = b->o;
	const struct go_type *map = go_swiss_maps(b->t, b->go) ? type_at(b, l->smap_type) : NULL;
	struct chan_layout cl = { .hchan = type_at(b, l->hchan_type) };
	if (cl.hchan && (!memdbg_dwarf_member(b->t->dwarf, "runtime.hchan", "elemtype", &cl.et_off, NULL) ||
			 !memdbg_dwarf_member(b->t->dwarf, "runtime.hchan", "elemsize", &cl.es_off, NULL) ||
			 !type_descriptors(b, &cl.lo, &cl.hi)))
		cl.hchan = NULL;
	for (size_t i = 0; i < o->nhs; i++) {
		const struct go_heap_span *h = &o->hs[i];
		bool maps = map && !h->noscan && h->elemsize == class_slot(b->go, map->size),
		     chans = cl.hchan && h->elemsize >= cl.hchan->size && !h->header && !h->large_type;
		for (uint32_t k = 0; (maps || chans) && k < h->nelems; k++) {
			uint64_t id = h->first + k, a = go_id_addr(h, id);
			if (!go_bit(o->alloc, id) || !go_bit(o->live, id) || o->type[id])
				continue;
			if (maps && type_fits(b, id, map))
				type_map_header(b, id, a, map);
			if (chans && !o->type[id])
				type_chan(b, id, a, &cl);
		}
	}
}

/* Finalizers and cleanups keep their function (and what the object points to) alive; weak handles do not. */
static struct memdbg_error *special_roots(struct builder *b)
{
	const struct obj_layout *l = &b->l;
	struct go_objects *o = b->o;
	uint64_t seen = 0;
	for (size_t i = 0; i < o->nhs; i++) {
		const struct go_span *s = &b->go->spans[o->hs[i].span];
		uint64_t sp = word(b, s->addr + l->sp_specials);
		for (; sp && seen < MAX_SPECIALS; sp = word(b, sp + l->special_next), seen++) {
			uint8_t kind = (uint8_t)word(b, sp + l->special_kind);
			uint64_t off = word(b, sp + l->special_offset);
			if (l->special_offset_size == 2)
				off &= 0xffff;
			uint64_t obj = s->start + off;
			char name[96];
			struct memdbg_error *err = NULL;
			if (kind == l->kind_finalizer) {
				snprintf(name, sizeof(name), "finalizer of 0x%" PRIx64, obj);
				uint64_t fn = word(b, sp + l->fin_fn);
				err = add_root(b, GO_ROOT_FINALIZER, name, sp + l->fin_fn, fn, false);
				mark_last_root_func(b, fn);
				/* The runtime scans the object's referents, not the object, so it can be finalized. */
				uint64_t id;
				if (!err && go_object_at(o, obj, &id)) {
					snprintf(name, sizeof(name), "finalizer of 0x%" PRIx64 " (its referents)", obj);
					err = object_referents_as_roots(b, id, GO_ROOT_FINALIZER, name);
				}
			} else if (l->has_cleanup && kind == l->kind_cleanup) {
				snprintf(name, sizeof(name), "cleanup of 0x%" PRIx64, obj);
				err = add_root(b, GO_ROOT_FINALIZER, name, sp + l->cleanup_fn, word(b, sp + l->cleanup_fn), false);
				mark_last_root_func(b, word(b, sp + l->cleanup_fn));
			} else if (l->has_weak && kind == l->kind_weak) {
				snprintf(name, sizeof(name), "weak handle of 0x%" PRIx64, obj);
				err = add_root(b, GO_ROOT_OTHER, name, sp + l->weak_handle, word(b, sp + l->weak_handle), false);
				uint64_t *w = err ? NULL : realloc(o->weak_referents, (o->nweak + 1) * sizeof(*w));
				if (w) {
					o->weak_referents = w;
					o->weak_referents[o->nweak++] = obj;
				} else if (!err) {
					err = memdbg_enomem;
				}
			}
			if (err)
				return err;
		}
	}
	return NULL;
}

/* ---- building it all ---- */

static int root_word_cmp(const void *a, const void *c)
{
	const struct root_word *x = a, *y = c;
	return x->addr < y->addr ? -1 : x->addr > y->addr ? 1 : x->root < y->root ? -1 : x->root > y->root;
}

/* Roots by the address of the word holding them, so a typed word can name its root. */
static struct memdbg_error *index_roots(struct builder *b)
{
	if (!(b->roots_by_addr = malloc((b->o->nroots ? b->o->nroots : 1) * sizeof(*b->roots_by_addr))))
		return memdbg_enomem;
	for (size_t i = 0; i < b->o->nroots; i++)
		b->roots_by_addr[i] = (struct root_word){ b->o->roots[i].addr, (uint32_t)i };
	qsort(b->roots_by_addr, b->o->nroots, sizeof(*b->roots_by_addr), root_word_cmp);
	return NULL;
}

static struct memdbg_error *build(struct builder *b)
{
	struct memdbg_error *err;
	if ((err = load_layout(b)) || (err = build_index(b)) ||
	    (err = memdbg_dwarf_for_each_global(b->t->dwarf, collect_global, b)))
		return err;
	if (b->ngnames)  /* none without DWARF */
		qsort(b->gnames, b->ngnames, sizeof(*b->gnames), gname_cmp);
	if ((err = collect_pool_globals(b)) || (err = module_roots(b)) || (err = special_roots(b)) ||
	    (err = stack_roots(b)) || (err = mark(b)))
		return err;
	if ((err = index_roots(b)))
		return err;
	if (!memdbg_target_symbol(b->t, "runtime.types", &b->types_base, NULL))
		b->types_base = 0;
	load_closure_types(b);
	b->phase = GO_SRC_HEADER;
	type_from_headers(b);
	b->phase = GO_SRC_GLOBAL;
	type_globals(b);
	b->phase = GO_SRC_STACK;
	type_stack_vars(b);
	b->phase = GO_SRC_FINALIZER;
	type_special_closures(b);
	b->phase = GO_SRC_GLOBAL;
	type_runtime_lists(b);
	type_root_interfaces(b);
	b->phase = GO_SRC_REFERRER;
	if ((err = propagate_types(b)))
		return err;
	b->phase = GO_SRC_GLOBAL;  /* what the code stores into globals and slots: below every other source */
	type_code_globals(b);
	b->phase = GO_SRC_STACK;
	type_code_words(b, b->code_slots, b->ncode_slots);
	b->phase = GO_SRC_HEADER;  /* what describes itself, as a malloc header does */
	type_self_describing(b);
	b->phase = GO_SRC_REFERRER;
	return propagate_types(b);
}

struct memdbg_error *go_objects_get(struct memdbg_target *t, struct memdbg_go *go, struct memdbg_printer *p,
				    struct go_objects **ret)
{
	struct memdbg_error *err = memdbg_go_load_spans(t, go, p);  /* loaded once; says what was damaged */
	if (err)
		return err;
	if (go->objects) {
		*ret = go->objects;
		return NULL;
	}
	struct builder b = { .t = t, .go = go, .p = p };
	if (!(b.o = calloc(1, sizeof(*b.o))) || !(b.recent_types = calloc(TYPE_CACHE, sizeof(*b.recent_types)))) {
		free(b.o);
		return memdbg_enomem;
	}
	err = build(&b);
	free(b.recent_types);
	free(b.queue);
	free(b.gnames);
	free(b.gparts);
	for (size_t i = 0; i < b.npool_names; i++)
		free(b.pool_names[i]);
	free(b.pool_names);
	free(b.typed);
	free(b.code_slots);
	free(b.roots_by_addr);
	go_map_free(&b.globals_walked);
	if (err) {
		go_objects_destroy(b.o);
		return err;
	}
	go->objects = b.o;
	*ret = b.o;
	return NULL;
}

void go_objects_destroy(struct go_objects *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->notypes; i++)
		free(o->otypes[i].name);
	for (size_t i = 0; i < o->nroots; i++)
		free(o->roots[i].name);
	free(o->otypes);
	free(o->otype_index);
	free(o->roots);
	free(o->weak_referents);
	free(o->hs);
	go_lookup_destroy(o->lookup);
	free(o->alloc);
	free(o->live);
	free(o->type);
	free(o->src);
	free(o->src_ref);
	free(o->rejected);
	for (size_t i = 0; i < o->nrejections; i++)
		free(o->rejections[i].name);
	free(o->rejections);
	free(o);
}

static void visit_pointer(struct builder *b, uint64_t slot, uint64_t v)
{
	const struct pointer_visit *pv = b->visit;
	pv->fn(pv->arg, slot, v);
}

void go_object_pointers(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o, uint64_t id,
			void (*fn)(void *arg, uint64_t slot, uint64_t value), void *arg)
{
	struct pointer_visit pv = { fn, arg };
	struct builder b = { .t = t, .go = go, .o = o, .visit = &pv };
	for_each_pointer(&b, id, visit_pointer);
}

struct find_slot {
	const struct go_objects *o;
	uint64_t target, slot;
};

static void match_slot(void *arg, uint64_t slot, uint64_t value)
{
	struct find_slot *f = arg;
	uint64_t id;
	if (!f->slot && value && go_object_at(f->o, value, &id) && id == f->target)
		f->slot = slot;
}

uint64_t go_slot_to(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o, uint64_t holder,
		    uint64_t target)
{
	struct find_slot f = { o, target, 0 };
	go_object_pointers(t, go, o, holder, match_slot, &f);
	return f.slot;
}

/* ---- what the runtime records for a slot, and what a type says of it ---- */

/* Set the bits of ty's pointer words in mask, element after element from word first, below word end. */
static void tile_mask(struct builder *b, const struct go_type *ty, uint8_t *mask, uint64_t first, uint64_t end,
		      uint64_t max_elems)
{
	if (!ty->ptrbytes || !ty->size || ty->size % 8)
		return;
	uint64_t sw = ty->size / 8;
	for (uint64_t e = 0, w0 = first; e < max_elems && w0 < end; e++, w0 += sw)
		for (uint64_t w = 0; w < ty->ptrbytes / 8 && w0 + w < end; w++)
			if (go_type_word_is_ptr(b->t, b->go, ty, w))
				mask[(w0 + w) / 8] |= (uint8_t)(1u << ((w0 + w) % 8));
}

static bool gc_mask(struct builder *b, uint64_t id, uint8_t *mask, uint64_t words)
{
	const struct go_heap_span *h = go_span_of_id(b->o, id);
	if (h->noscan)
		return true;
	if (h->heap_bits) {
		uint64_t bits;
		if (!slot_heap_bits(b, h, id, &bits))
			return false;
		for (uint64_t w = 0; w < words; w++)
			if ((bits >> w) & 1)
				mask[w / 8] |= (uint8_t)(1u << (w % 8));
		return true;
	}
	/* The runtime repeats the recorded type over the whole slot (after the header). */
	uint64_t tp = h->header ? word(b, go_id_addr(h, id)) : h->large_type;
	const struct go_type *ty = type_at(b, tp);
	if (!ty || !ty->size)
		return false;
	tile_mask(b, ty, mask, h->header ? 1 : 0, words, UINT64_MAX);
	return true;
}

bool go_gc_mask(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o, uint64_t id, uint8_t **mask,
		uint64_t *words)
{
	struct builder b = { .t = t, .go = go, .o = o };
	*words = go_span_of_id(o, id)->elemsize / 8;
	if (!(*mask = calloc(*words / 8 + 1, 1)))
		return false;
	if (gc_mask(&b, id, *mask, *words))
		return true;
	free(*mask);
	*mask = NULL;
	return false;
}

enum go_type_check go_check_type(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o, uint64_t id,
				 uint8_t **type_mask, uint8_t **gc_maskp, uint64_t *words)
{
	struct builder b = { .t = t, .go = go, .o = o };
	*type_mask = NULL;
	if (!go_gc_mask(t, go, o, id, gc_maskp, words))
		return o->type[id] ? GO_CHECK_NO_RECORD : GO_CHECK_UNTYPED;
	if (!o->type[id])
		return GO_CHECK_UNTYPED;
	const struct go_heap_span *h = go_span_of_id(o, id);
	const struct go_objtype *ot = &o->otypes[o->type[id]];
	if (!ot->type && strncmp(ot->name, "closure ", 8) == 0) {
		/* Only part of a closure's layout is known: its code pointer word and DWARF's captured variables. */
		load_closure_types(&b);
		return closure_fits(&b, id) ? GO_CHECK_PARTIAL : GO_CHECK_CONTRADICTS;
	}
	if (!(*type_mask = calloc(*words / 8 + 1, 1)))
		return GO_CHECK_NO_RECORD;
	const struct go_type *ty = ot->type ? type_at(&b, ot->type) : NULL;
	if (ty && (h->header || h->large_type))
		tile_mask(&b, ty, *type_mask, h->header ? 1 : 0, *words, UINT64_MAX);
	else if (ty)
		tile_mask(&b, ty, *type_mask, 0, *words, ot->count ? ot->count : 1);
	else if (!label_pointer_free(ot->name))
		return GO_CHECK_CONTRADICTS;  /* a label that says nothing of its pointers */
	return memcmp(*type_mask, *gc_maskp, *words / 8 + 1) == 0 ? GO_CHECK_AGREES : GO_CHECK_CONTRADICTS;
}

/* Which evidence stood behind a referrer's type: the heap bits it matched, a noscan slot, an unrolled largeType. */
static const char *evidence(const struct go_heap_span *h)
{
	return h->noscan ? "noscan + " : h->heap_bits ? "heap bits + " : h->large_type ? "large_type mask + " : "";
}

static const char *const src_names[] = { "unknown", "header", "large_type", "referrer", "global", "stack var",
					 "finalizer" };

const char *go_type_source_class(const struct go_objects *o, uint64_t id)
{
	static const char *const classes[][3] = {
		{ "unknown", "unknown", "unknown" },
		{ "header", "header", "header" },
		{ "large_type", "large_type", "large_type" },
		{ "referrer", "heap bits + referrer", "noscan + referrer" },
		{ "global", "heap bits + global", "noscan + global" },
		{ "stack var", "heap bits + stack var", "noscan + stack var" },
		{ "finalizer", "heap bits + finalizer", "noscan + finalizer" },
	};
	const struct go_heap_span *h = go_span_of_id(o, id);
	uint8_t src = o->src[id] < MEMDBG_ARRAY_SIZE(classes) ? o->src[id] : GO_SRC_NONE;
	return classes[src][h->noscan ? 2 : h->heap_bits ? 1 : 0];
}

/* "referrer 0x... field .a.b", "global main.x+8", "stack var (goroutine 5 frame f var x)": who proposed the type. */
static void describe_from(struct builder *b, uint64_t id, char *buf, size_t size)
{
	struct go_objects *o = b->o;
	enum go_type_src src = (enum go_type_src)o->src[id];
	uint32_t ref = o->src_ref[id];
	if (src != GO_SRC_REFERRER) {
		const char *root = ref < o->nroots ? o->roots[ref].name : NULL;
		const char *kind = src_names[src < MEMDBG_ARRAY_SIZE(src_names) ? src : 0];
		if (src == GO_SRC_GLOBAL && root)
			snprintf(buf, size, "global %s", root);
		else if (root)
			snprintf(buf, size, "%s (%s)", kind, root);
		else
			snprintf(buf, size, "%s", kind);
		return;
	}
	if (ref >= o->nslots) {
		snprintf(buf, size, "referrer (unknown)");
		return;
	}
	const struct go_heap_span *hh = go_span_of_id(o, ref);
	uint64_t base = go_id_addr(hh, ref), data = base + (hh->header ? MALLOC_HEADER : 0);
	uint64_t from = go_slot_to(b->t, b->go, o, ref, id);
	const struct go_objtype *ot = o->type[ref] ? &o->otypes[o->type[ref]] : NULL;
	const struct go_type *ty = ot && ot->type ? type_at(b, ot->type) : NULL;
	int n = snprintf(buf, size, "referrer 0x%" PRIx64, base);
	if (n < 0 || (size_t)n >= size || !from)
		return;
	char *p = buf + n;
	size_t left = size - (size_t)n;
	if (ty && ty->size && from >= data) {
		uint64_t off = from - data;
		snprintf(p, left, " field ");
		if (ot->count)
			snprintf(p + 7, left - 7, "[%" PRIu64 "]", off / ty->size);
		go_type_field_path(b->t, b->go, ty, ot->count ? off % ty->size : off, p, left);
		if (strlen(p) == 7)  /* a word of a non-struct value (a slice header, a pointer) */
			snprintf(p, left, " +%" PRIu64, off);
	} else {
		bool closure = ot && !ot->type && !strncmp(ot->name, "closure ", 8);
		snprintf(p, left, " %s+%" PRIu64, closure ? "closure var " : "", from - base);
	}
}

void go_type_source(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o, uint64_t id, char *buf,
		    size_t size)
{
	struct builder b = { .t = t, .go = go, .o = o };
	enum go_type_src src = o->type[id] ? (enum go_type_src)o->src[id] : GO_SRC_NONE;
	if (src == GO_SRC_NONE || src == GO_SRC_HEADER || src == GO_SRC_LARGE_TYPE) {
		snprintf(buf, size, "%s", src_names[src]);
		return;
	}
	const char *ev = evidence(go_span_of_id(o, id));
	size_t n = strlen(ev);
	snprintf(buf, size, "%s", ev);
	if (n < size)
		describe_from(&b, id, buf + n, size - n);
}

/* The binary digits of bits, highest set bit first ("0b1011": words 0, 1 and 3 hold pointers). */
static void binary(uint64_t bits, char *buf, size_t size)
{
	size_t len = 0;
	int top = 63;
	while (top > 0 && !((bits >> top) & 1))
		top--;
	len += (size_t)snprintf(buf, size, "0b");
	for (int i = top; i >= 0 && len + 1 < size; i--)
		buf[len++] = (bits >> i) & 1 ? '1' : '0';
	buf[len < size ? len : size - 1] = '\0';
}

void go_unknown_name(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o, uint64_t id, char *buf,
		     size_t size)
{
	struct builder b = { .t = t, .go = go, .o = o };
	const struct go_heap_span *h = go_span_of_id(o, id);
	uint64_t bits;
	char mask[72];
	if (tiny_span(h))
		snprintf(buf, size, "tiny block");
	else if (h->noscan)
		snprintf(buf, size, "noscan %" PRIu64 " B", h->elemsize);
	else if (h->heap_bits && slot_heap_bits(&b, h, id, &bits)) {
		binary(bits, mask, sizeof(mask));
		snprintf(buf, size, "unknown (%" PRIu64 " B, ptr mask %s)", h->elemsize, mask);
	} else if (h->header)
		snprintf(buf, size, "unknown (%" PRIu64 " B, header 0x%" PRIx64 ")", h->elemsize,
			 word(&b, go_id_addr(h, id)));
	else if (h->nelems == 1 && !h->large_type && h->limit)
		snprintf(buf, size, "unknown (%" PRIu64 " B, large, no largeType)", h->elemsize);
	else
		snprintf(buf, size, "unknown (%" PRIu64 " B)", h->elemsize);
}

bool go_string_data_len(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o, uint64_t id,
			uint64_t *len)
{
	const char *name = go_objtype_name(o, id);
	uint32_t ref = o->src_ref[id];
	if (!name || strcmp(name, "string data") != 0 || ref == UINT32_MAX)
		return false;
	/* The string header whose data pointer typed it: in the referrer, or the root's word. */
	uint64_t at = o->src[id] == GO_SRC_REFERRER ? go_slot_to(t, go, o, ref, id) : ref < o->nroots ? o->roots[ref].addr : 0;
	if (!at)
		return false;
	struct memdbg_error *err = memdbg_read_u64(t, at + 8, len);
	memdbg_error_destroy(err);
	return !err && *len <= go_span_of_id(o, id)->elemsize;
}
