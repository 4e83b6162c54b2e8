/* pools.c - pool-residue: what every sync.Pool holds, per P, and what only pools keep alive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/pools.h"
#include "go/types.h"

#define MAX_POOLS (1u << 16)      /* pools listed in allPools/oldPools */
#define MAX_LOCALS (1u << 16)     /* poolLocals per array: one per P */
#define MAX_CHAIN 64              /* dequeues double in size: a chain is ~30 long at most */
#define MAX_VALS (1u << 30)       /* dequeueLimit */
#define MAX_ENTRIES (1u << 24)    /* pooled objects per pool */

enum { CACHE_LOCAL, CACHE_VICTIM };
enum { SLOT_PRIVATE, SLOT_SHARED };
enum { SRC_ALLPOOLS = 1, SRC_OLDPOOLS = 2, SRC_GLOBAL = 4 };

static const char *const cache_names[] = { "local", "victim" };
static const char *const slot_names[] = { "private", "shared" };

/* Offsets of sync.Pool, poolLocal and poolChainElt (DWARF; stable go1.22..go1.26). */
struct pool_layout {
	uint64_t local, local_size, victim, victim_size;
	uint64_t stride, private_, head, tail;
	uint64_t headtail, vals, next;
	uint64_t dequeue_nil;  /* abi.Type of sync.dequeueNil: a stored nil */
};

/* One pooled object: an eface in a private slot or a dequeue slot. */
struct entry {
	uint64_t type, value;
	uint64_t id;      /* its object, when value points into an allocated heap slot */
	uint64_t bytes;   /* that object's slot size, 0 outside the heap */
	uint32_t p;
	uint32_t referrer; /* a graph node outside the pool pointing at the object (used after Put), or 0 */
	uint8_t cache, slot;
	bool in_heap;
};

struct pool {
	uint64_t addr;
	unsigned sources;
	char name[256];
	uint64_t arr[2], size[2];  /* local and victim: the poolLocal arrays and their lengths */
	struct entry *ents;
	size_t nents, cap;
	uint64_t retained, retained_objects;
	uint64_t held_outside;     /* entries with a referrer */
	uint64_t inconsistent;     /* chains and dequeues whose fields contradict each other */
	uint64_t unreadable;
};

struct ctx {
	struct memdbg_target *t;
	struct memdbg_go *go;
	struct go_objects *o;
	struct go_graph *g;
	struct pool_layout l;
	struct pool *pools;
	size_t npools, cap;
	uint64_t list_problems;    /* allPools/oldPools entries not read */
	bool no_layout;            /* the DWARF has no sync.Pool: nothing is pooled */
};

static struct memdbg_error *load_layout(struct ctx *c)
{
	struct memdbg_dwarf *d = c->t->dwarf;
	struct pool_layout *l = &c->l;
	bool ok = d && memdbg_dwarf_member(d, "sync.Pool", "local", &l->local, NULL) &&
		  memdbg_dwarf_member(d, "sync.Pool", "localSize", &l->local_size, NULL) &&
		  memdbg_dwarf_member(d, "sync.Pool", "victim", &l->victim, NULL) &&
		  memdbg_dwarf_member(d, "sync.Pool", "victimSize", &l->victim_size, NULL) &&
		  memdbg_dwarf_type_size(d, "sync.poolLocal", &l->stride) && l->stride &&
		  memdbg_dwarf_member(d, "sync.poolLocal", "poolLocalInternal.private", &l->private_, NULL) &&
		  memdbg_dwarf_member(d, "sync.poolLocal", "poolLocalInternal.shared.head", &l->head, NULL) &&
		  memdbg_dwarf_member(d, "sync.poolLocal", "poolLocalInternal.shared.tail", &l->tail, NULL) &&
		  memdbg_dwarf_member(d, "sync.poolChainElt", "poolDequeue.headTail", &l->headtail, NULL) &&
		  memdbg_dwarf_member(d, "sync.poolChainElt", "poolDequeue.vals", &l->vals, NULL) &&
		  memdbg_dwarf_member(d, "sync.poolChainElt", "next", &l->next, NULL);
	c->no_layout = !ok;
	if (!ok)
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
					   "pool-residue: the binary's DWARF has no sync.Pool, poolLocal or poolChainElt "
					   "layout (no sync.Pool linked in, or sync/pool.go changed)");
	l->dequeue_nil = go_type_by_name(c->t, c->go, "sync.dequeueNil");
	return NULL;
}

/* ---- finding the pools ---- */

static struct pool *pool_at(struct ctx *c, uint64_t addr)
{
	for (size_t i = 0; i < c->npools; i++)
		if (c->pools[i].addr == addr)
			return &c->pools[i];
	if (c->npools == c->cap) {
		size_t n = c->cap ? 2 * c->cap : 16;
		struct pool *p = realloc(c->pools, n * sizeof(*p));
		if (!p)
			return NULL;
		c->pools = p;
		c->cap = n;
	}
	struct pool *p = &c->pools[c->npools++];
	memset(p, 0, sizeof(*p));
	p->addr = addr;
	return p;
}

/* The pools of sync.allPools or sync.oldPools (a []*Pool). */
static struct memdbg_error *add_list(struct ctx *c, const char *sym, unsigned src)
{
	uint64_t addr, array, len;
	if (!memdbg_target_symbol(c->t, sym, &addr, NULL))
		return NULL;  /* a binary without the symbol has no pools there */
	struct memdbg_error *err = go_read_slice(c->t, addr, &array, &len);
	if (err || len > MAX_POOLS) {
		memdbg_error_destroy(err);
		c->list_problems++;
		return NULL;
	}
	for (uint64_t i = 0; i < len; i++) {
		uint64_t pool;
		if ((err = memdbg_read_u64(c->t, array + 8 * i, &pool))) {
			memdbg_error_destroy(err);
			c->list_problems++;
			return NULL;
		}
		if (!pool)
			continue;
		struct pool *p = pool_at(c, pool);
		if (!p)
			return memdbg_enomem;
		p->sources |= src;
	}
	return NULL;
}

static struct memdbg_error *add_global(void *arg, const struct memdbg_global *g)
{
	struct ctx *c = arg;
	if (g->part || !g->type_name || strcmp(g->type_name, "sync.Pool") != 0)
		return NULL;
	struct pool *p = pool_at(c, g->addr + c->t->bias);
	if (!p)
		return memdbg_enomem;
	p->sources |= SRC_GLOBAL;
	return NULL;
}

/* ---- naming ---- */

/* The root whose dominator subtree holds object id ("main.holder"), or NULL. */
static const char *dominating_root(const struct ctx *c, uint64_t id)
{
	const struct go_graph *g = c->g;
	uint32_t n = id < c->o->nslots ? go_graph_node(g, id) : 0;
	for (uint32_t steps = 0; n >= go_graph_first_obj(g) && steps < g->nnodes; steps++) {
		if (g->idom[n] == UINT32_MAX)
			return NULL;
		n = g->idom[n];
	}
	if (n == 0 || n > g->nroots)
		return NULL;
	return c->o->roots[g->root_index[n]].name;
}

/* A global's symbol (+offset), or the heap object's type and field holding the pool. */
static void name_pool(struct ctx *c, struct pool *p)
{
	uint64_t off, id;
	char buf[64];
	const char *sym = memdbg_target_symbol_at(c->t, p->addr, &off, buf, sizeof(buf));
	if (sym) {
		if (off)
			snprintf(p->name, sizeof(p->name), "%s+%" PRIu64, sym, off);
		else
			snprintf(p->name, sizeof(p->name), "%s", sym);
		return;
	}
	const struct go_heap_span *h;
	uint64_t slot;
	if (!go_find_object(c->o, p->addr, &h, &slot) || !go_bit(c->o->alloc, h->first + slot)) {
		snprintf(p->name, sizeof(p->name), "0x%" PRIx64, p->addr);
		return;
	}
	id = h->first + slot;
	uint64_t data = go_id_addr(h, id) + (h->header ? 8 : 0);
	const char *field = NULL;
	const struct go_objtype *ot = c->o->type[id] ? &c->o->otypes[c->o->type[id]] : NULL;
	const struct go_type *ty = ot && ot->type && !ot->count ? go_type_at(c->t, c->go, ot->type, NULL) : NULL;
	for (size_t i = 0; ty && ty->kind == GO_KIND_STRUCT && i < ty->nfields; i++)
		if (ty->fields[i].offset == p->addr - data && ty->fields[i].name)
			field = ty->fields[i].name;
	const char *tname = go_objtype_name(c->o, id), *root = dominating_root(c, id);
	int n;
	if (tname && field)
		n = snprintf(p->name, sizeof(p->name), "%s.%s in 0x%" PRIx64, tname, field, go_id_addr(h, id));
	else
		n = snprintf(p->name, sizeof(p->name), "0x%" PRIx64 " (heap object 0x%" PRIx64 "+%" PRIu64 ")",
			     p->addr, go_id_addr(h, id), p->addr - go_id_addr(h, id));
	if (root && n > 0 && (size_t)n < sizeof(p->name))
		snprintf(p->name + n, sizeof(p->name) - n, " (held by %s)", root);
}

/* ---- walking one pool ---- */

static bool add_entry(struct ctx *c, struct pool *p, uint8_t cache, uint32_t pidx, uint8_t slot, uint64_t type,
		      uint64_t value)
{
	if (p->nents >= MAX_ENTRIES) {
		p->inconsistent++;
		return true;
	}
	if (p->nents == p->cap) {
		size_t n = p->cap ? 2 * p->cap : 16;
		struct entry *e = realloc(p->ents, n * sizeof(*e));
		if (!e)
			return false;
		p->ents = e;
		p->cap = n;
	}
	struct entry *e = &p->ents[p->nents++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->value = value;
	e->p = pidx;
	e->cache = cache;
	e->slot = slot;
	const struct go_heap_span *h;
	uint64_t s;
	/* A stored nil (dequeueNil) holds nothing. */
	if (type != c->l.dequeue_nil && value && go_find_object(c->o, value, &h, &s) &&
	    go_bit(c->o->alloc, h->first + s)) {
		e->in_heap = true;
		e->id = h->first + s;
		e->bytes = h->elemsize;
	}
	return true;
}

static bool read_word(struct ctx *c, struct pool *p, uint64_t addr, uint64_t *v)
{
	struct memdbg_error *err = memdbg_read_u64(c->t, addr, v);
	if (!err)
		return true;
	memdbg_error_destroy(err);
	p->unreadable++;
	return false;
}

/* One dequeue: the slots [tail, head) mod len(vals) whose type word is set. */
static bool walk_dequeue(struct ctx *c, struct pool *p, uint8_t cache, uint32_t pidx, uint64_t elt)
{
	uint64_t ht, array, len;
	if (!read_word(c, p, elt + c->l.headtail, &ht))
		return true;
	struct memdbg_error *err = go_read_slice(c->t, elt + c->l.vals, &array, &len);
	if (err) {
		memdbg_error_destroy(err);
		p->unreadable++;
		return true;
	}
	uint32_t head = (uint32_t)(ht >> 32), tail = (uint32_t)ht;
	uint32_t n = head - tail;
	if (!len || len > MAX_VALS || (len & (len - 1)) || n > len) {
		p->inconsistent++;
		return true;
	}
	for (uint32_t k = 0; k < n; k++) {
		uint64_t idx = (tail + k) & (len - 1), w[2];
		if ((err = memdbg_read(c->t, array + 16 * idx, w, sizeof(w)))) {
			memdbg_error_destroy(err);
			p->unreadable++;
			continue;
		}
		if (w[0] && !add_entry(c, p, cache, pidx, SLOT_SHARED, w[0], w[1]))
			return false;
	}
	return true;
}

/* The poolLocals of one array: private, then the shared chain from tail (oldest) to head. */
static bool walk_locals(struct ctx *c, struct pool *p, uint8_t cache)
{
	uint64_t arr = p->arr[cache], n = p->size[cache];
	if (!arr || !n)
		return true;
	if (n > MAX_LOCALS) {
		p->inconsistent++;
		return true;
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t base = arr + i * c->l.stride, w[2], head, tail;
		struct memdbg_error *err = memdbg_read(c->t, base + c->l.private_, w, sizeof(w));
		if (err) {
			memdbg_error_destroy(err);
			p->unreadable++;
			continue;
		}
		if (w[0] && !add_entry(c, p, cache, (uint32_t)i, SLOT_PRIVATE, w[0], w[1]))
			return false;
		if (!read_word(c, p, base + c->l.head, &head) || !read_word(c, p, base + c->l.tail, &tail))
			continue;
		uint64_t d = tail, last = 0;
		unsigned steps = 0;
		for (; d && steps < MAX_CHAIN; steps++) {
			if (!walk_dequeue(c, p, cache, (uint32_t)i, d))
				return false;
			last = d;
			if (!read_word(c, p, d + c->l.next, &d))
				break;
		}
		/* The chain must end at head; a cycle or a stray next is inconsistent. */
		if (d || last != head)
			p->inconsistent++;
	}
	return true;
}

static struct memdbg_error *walk_pool(struct ctx *c, struct pool *p)
{
	uint64_t v[4];
	const uint64_t offs[4] = { c->l.local, c->l.local_size, c->l.victim, c->l.victim_size };
	for (int i = 0; i < 4; i++)
		if (!read_word(c, p, p->addr + offs[i], &v[i]))
			return NULL;
	p->arr[CACHE_LOCAL] = v[0];
	p->size[CACHE_LOCAL] = v[1];
	p->arr[CACHE_VICTIM] = v[2];
	p->size[CACHE_VICTIM] = v[3];
	for (uint8_t k = 0; k < 2; k++)
		if (!walk_locals(c, p, k))
			return memdbg_enomem;
	return NULL;
}

/* ---- retained only through pools ---- */

static uint32_t node_of(const struct ctx *c, uint64_t addr)
{
	uint64_t id;
	if (!addr || !go_object_at(c->o, addr, &id) || !go_bit(c->o->alloc, id))
		return 0;
	return go_graph_node(c->g, id);
}

/*
 * Whether node x's dominator chain (x included) meets one of the pool's
 * poolLocal arrays or any pooled object before a root: then only pools keep
 * x.  *at (may be NULL) gets the node met, or the root.
 */
static bool kept_by_pool(const struct go_graph *g, const uint32_t arrays[2], const uint8_t *pooled, uint32_t x,
			 bool skip_self, uint32_t *at)
{
	if (skip_self)
		x = g->idom[x];
	for (uint32_t steps = 0; x != UINT32_MAX && x >= go_graph_first_obj(g) && steps < g->nnodes; steps++) {
		if (x == arrays[0] || x == arrays[1] || go_bit(pooled, x)) {
			if (at)
				*at = x;
			return true;
		}
		x = g->idom[x];
	}
	if (at)
		*at = x;
	return false;
}

/*
 * Does object holder, a P's timer heap (go1.22 [N]*runtime.timer, go1.23+
 * [N]runtime.timerWhen), point at a stopped timer in object target?  The
 * runtime removes stopped timers from its heaps lazily (go1.22: status
 * timerDeleted, timerRemoving or timerRemoved; go1.23+: the timerZombie bit
 * of state), so a stopped time.Timer Put in a pool is not in use.
 */
static bool stopped_timer_ref(const struct ctx *c, uint64_t holder, uint64_t target)
{
	struct memdbg_dwarf *d = c->t->dwarf;
	const char *name = go_objtype_name(c->o, holder);
	if (!name || *name != '[' || !strchr(name, ']'))
		return false;
	name = strchr(name, ']') + 1;
	if (strcmp(name, "*runtime.timer") != 0 && strcmp(name, "runtime.timerWhen") != 0)
		return false;
	uint64_t slot = go_slot_to(c->t, c->go, c->o, holder, target), timer = 0, off;
	uint8_t state = 0;
	int64_t zombie, deleted, removing, removed;
	struct memdbg_error *err = slot ? memdbg_read_u64(c->t, slot, &timer) : NULL;
	if (!slot || err) {
		memdbg_error_destroy(err);
		return false;
	}
	if (memdbg_dwarf_member(d, "runtime.timer", "state", &off, NULL) &&
	    memdbg_dwarf_const(d, "runtime.timerZombie", &zombie)) {
		err = memdbg_read(c->t, timer + off, &state, 1);
		memdbg_error_destroy(err);
		return !err && (state & zombie);
	}
	if (memdbg_dwarf_member(d, "runtime.timer", "status", &off, NULL) &&
	    memdbg_dwarf_const(d, "runtime.timerDeleted", &deleted) &&
	    memdbg_dwarf_const(d, "runtime.timerRemoving", &removing) &&
	    memdbg_dwarf_const(d, "runtime.timerRemoved", &removed)) {
		err = memdbg_read(c->t, timer + off, &state, 1);  /* a uint32 below 256: its low byte */
		memdbg_error_destroy(err);
		return !err && (state == deleted || state == removing || state == removed);
	}
	return false;
}

/* A predecessor of pooled node n that the pool does not keep: whoever still uses it after Put. */
static uint32_t referrer_of(const struct ctx *c, const uint32_t arrays[2], const uint8_t *pooled, uint32_t n)
{
	const struct go_graph *g = c->g;
	for (uint32_t k = g->rev_off[n]; k < g->rev_off[n + 1]; k++) {
		uint32_t x = g->rev[k];
		if (x && (x < go_graph_first_obj(g) || !kept_by_pool(g, arrays, pooled, x, false, NULL)) &&
		    !(x >= go_graph_first_obj(g) && stopped_timer_ref(c, go_graph_id(g, x), go_graph_id(g, n))))
			return x;
	}
	return 0;
}

/*
 * A pooled object counts when its dominator chain reaches one of its pool's
 * poolLocal arrays before any root: only the pool keeps it.  A pooled object
 * dominated by another pooled object is inside that one's retained bytes.
 * One the pool does not dominate is also held from outside: its referrer is
 * a predecessor the pool does not keep.
 */
static struct memdbg_error *retained_through(struct ctx *c)
{
	const struct go_graph *g = c->g;
	size_t bytes = g->nnodes / 8 + 1;
	uint8_t *pooled = calloc(2 * bytes, 1), *counted = pooled + bytes;
	if (!pooled)
		return memdbg_enomem;
	for (size_t i = 0; i < c->npools; i++)
		for (size_t k = 0; k < c->pools[i].nents; k++)
			if (c->pools[i].ents[k].in_heap) {
				uint32_t n = go_graph_node(g, c->pools[i].ents[k].id);
				pooled[n / 8] |= 1u << (n % 8);
			}
	for (size_t i = 0; i < c->npools; i++) {
		struct pool *p = &c->pools[i];
		uint32_t arrays[2] = { node_of(c, p->arr[0]), node_of(c, p->arr[1]) };
		for (size_t k = 0; k < p->nents; k++) {
			struct entry *e = &p->ents[k];
			uint32_t n = e->in_heap ? go_graph_node(g, e->id) : 0;
			if (n < go_graph_first_obj(g))
				continue;
			uint32_t at;
			if (!kept_by_pool(g, arrays, pooled, n, true, &at)) {
				if ((e->referrer = referrer_of(c, arrays, pooled, n)))
					p->held_outside++;
				continue;
			}
			if (at != arrays[0] && at != arrays[1])
				continue;  /* inside another pooled object's retained bytes */
			if (go_bit(counted, n))
				continue;  /* an object put twice counts once */
			counted[n / 8] |= 1u << (n % 8);
			p->retained += g->retained[n];
			p->retained_objects += g->retained_count[n];
		}
	}
	free(pooled);
	return NULL;
}

/* ---- output ---- */

static const char *type_name(struct ctx *c, uint64_t type)
{
	if (type == c->l.dequeue_nil)
		return "nil";
	const struct go_type *ty = go_type_at(c->t, c->go, type, NULL);
	return ty && ty->name ? ty->name : "?";
}

struct type_row {
	uint64_t type, count, bytes;
};

static int type_row_cmp(const void *a, const void *b)
{
	const struct type_row *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->type < y->type ? -1 : x->type > y->type;
}

/* Entries [from, to) grouped by type, largest first; returns the row count. */
static size_t group_types(const struct pool *p, size_t from, size_t to, struct type_row *rows)
{
	size_t n = 0;
	for (size_t k = from; k < to; k++) {
		size_t j = 0;
		while (j < n && rows[j].type != p->ents[k].type)
			j++;
		if (j == n)
			rows[n++] = (struct type_row){ p->ents[k].type, 0, 0 };
		rows[j].count++;
		rows[j].bytes += p->ents[k].bytes;
	}
	qsort(rows, n, sizeof(*rows), type_row_cmp);
	return n;
}

/* "*main.A" or "*main.A (3), *main.B (2)". */
static void types_text(struct ctx *c, const struct type_row *rows, size_t n, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = 0;
	for (size_t i = 0; i < n && len < size; i++) {
		int w;
		if (n == 1)
			w = snprintf(buf + len, size - len, "%s", type_name(c, rows[i].type));
		else
			w = snprintf(buf + len, size - len, "%s%s (%" PRIu64 ")", i ? ", " : "",
				     type_name(c, rows[i].type), rows[i].count);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

static bool same_location(const struct entry *a, const struct entry *b)
{
	return a->cache == b->cache && a->p == b->p && a->slot == b->slot;
}

static struct memdbg_error *print_pool(struct ctx *c, struct memdbg_printer *p, struct pool *pl, bool objects,
				       uint64_t *tot)
{
	struct type_row *rows = malloc((pl->nents ? pl->nents : 1) * sizeof(*rows));
	char *text = malloc(4096);
	if (!rows || !text) {
		free(rows);
		free(text);
		return memdbg_enomem;
	}
	uint64_t count = 0, bytes = 0;
	for (size_t k = 0; k < pl->nents; k++) {
		count++;
		bytes += pl->ents[k].bytes;
		tot[pl->ents[k].cache * 2 + pl->ents[k].slot]++;
	}
	char src[64];
	snprintf(src, sizeof(src), "%s%s%s", pl->sources & SRC_GLOBAL ? "global " : "",
		 pl->sources & SRC_ALLPOOLS ? "allPools " : "", pl->sources & SRC_OLDPOOLS ? "oldPools " : "");
	src[strlen(src) ? strlen(src) - 1 : 0] = 0;

	memdbg_begin_object(p, NULL, pl->name);
	memdbg_field_hex(p, "address", pl->addr);
	memdbg_field_str(p, "name", pl->name);
	memdbg_field_str(p, "found_in", src);
	for (int k = 0; k < 2; k++) {
		if (pl->arr[k])
			memdbg_field_hex(p, k ? "victim" : "local", pl->arr[k]);
		else
			memdbg_field_null(p, k ? "victim" : "local");
		memdbg_field_u64(p, k ? "victim_size" : "local_size", pl->size[k]);
	}
	memdbg_field_u64(p, "count", count);
	memdbg_field_u64(p, "bytes", bytes);
	memdbg_field_u64(p, "retained_only_bytes", pl->retained);
	memdbg_field_u64(p, "retained_only_objects", pl->retained_objects);
	memdbg_field_u64(p, "held_outside", pl->held_outside);
	memdbg_field_u64(p, "inconsistent", pl->inconsistent);
	memdbg_field_u64(p, "unreadable", pl->unreadable);

	static const struct memdbg_col loc_cols[] = {
		{ "p", MEMDBG_COL_U64, 4 },
		{ "cache", MEMDBG_COL_STR, -6 },
		{ "slot", MEMDBG_COL_STR, -7 },
		{ "count", MEMDBG_COL_U64, 8 },
		{ "bytes", MEMDBG_COL_U64, 10 },
		{ "types", MEMDBG_COL_STR, -1 },
	};
	memdbg_table_begin(p, "locations", loc_cols, MEMDBG_ARRAY_SIZE(loc_cols));
	for (size_t k = 0; k < pl->nents;) {
		size_t j = k + 1;
		while (j < pl->nents && same_location(&pl->ents[j], &pl->ents[k]))
			j++;
		uint64_t b = 0;
		for (size_t i = k; i < j; i++)
			b += pl->ents[i].bytes;
		types_text(c, rows, group_types(pl, k, j, rows), text, 4096);
		struct memdbg_val v[6] = { { .u = pl->ents[k].p }, { .s = cache_names[pl->ents[k].cache] },
					   { .s = slot_names[pl->ents[k].slot] }, { .u = j - k }, { .u = b },
					   { .s = text } };
		memdbg_table_row(p, v);
		k = j;
	}
	memdbg_table_end(p);

	static const struct memdbg_col type_cols[] = {
		{ "count", MEMDBG_COL_U64, 8 },
		{ "bytes", MEMDBG_COL_U64, 10 },
		{ "type", MEMDBG_COL_STR, -1, MEMDBG_NAME_WIDTH },
	};
	size_t nt = group_types(pl, 0, pl->nents, rows);
	memdbg_table_begin(p, "types", type_cols, MEMDBG_ARRAY_SIZE(type_cols));
	for (size_t i = 0; i < nt; i++) {
		struct memdbg_val v[3] = { { .u = rows[i].count }, { .u = rows[i].bytes },
					   { .s = type_name(c, rows[i].type) } };
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);

	if (objects) {
		static const struct memdbg_col obj_cols[] = {
			{ "p", MEMDBG_COL_U64, 4 },
			{ "cache", MEMDBG_COL_STR, -6 },
			{ "slot", MEMDBG_COL_STR, -7 },
			{ "value", MEMDBG_COL_HEX, 14 },
			{ "base", MEMDBG_COL_HEX, 14 },
			{ "size", MEMDBG_COL_U64, 8 },
			{ "type", MEMDBG_COL_STR, -1, MEMDBG_NAME_WIDTH },
		};
		memdbg_table_begin(p, "objects", obj_cols, MEMDBG_ARRAY_SIZE(obj_cols));
		for (size_t k = 0; k < pl->nents; k++) {
			const struct entry *e = &pl->ents[k];
			const struct go_heap_span *h = e->in_heap ? go_span_of_id(c->o, e->id) : NULL;
			struct memdbg_val v[7] = { { .u = e->p }, { .s = cache_names[e->cache] },
						   { .s = slot_names[e->slot] }, { .u = e->value },
						   { .u = h ? go_id_addr(h, e->id) : 0, .null = !h },
						   { .u = e->bytes }, { .s = type_name(c, e->type) } };
			memdbg_table_row(p, v);
		}
		memdbg_table_end(p);
	}
	memdbg_end_object(p);
	tot[4] += count;
	tot[5] += bytes;
	tot[6] += pl->retained;
	tot[7] += pl->inconsistent + pl->unreadable;
	tot[8] += pl->held_outside;
	free(rows);
	free(text);
	return NULL;
}

static int pool_cmp(const void *a, const void *b)
{
	const struct pool *x = a, *y = b;
	if (x->nents != y->nents)
		return x->nents < y->nents ? 1 : -1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void free_ctx(struct ctx *c)
{
	for (size_t i = 0; i < c->npools; i++)
		free(c->pools[i].ents);
	free(c->pools);
}

static struct memdbg_error *collect(struct ctx *c, struct memdbg_printer *p)
{
	struct memdbg_error *err;
	if ((err = memdbg_go_get(c->t, &c->go)) || (err = load_layout(c)) ||
	    (err = go_objects_get(c->t, c->go, p, &c->o)) || (err = go_graph_get(c->t, c->go, c->o, p, &c->g)))
		return err;
	if ((err = add_list(c, "sync.allPools", SRC_ALLPOOLS)) || (err = add_list(c, "sync.oldPools", SRC_OLDPOOLS)) ||
	    (err = memdbg_dwarf_for_each_global(c->t->dwarf, add_global, c)))
		return err;
	for (size_t i = 0; i < c->npools; i++) {
		if ((err = walk_pool(c, &c->pools[i])) || (err = memdbg_check_interrupt(p)))
			return err;
		name_pool(c, &c->pools[i]);
	}
	return retained_through(c);
}

struct memdbg_error *go_pool_aliases(struct memdbg_target *t, struct memdbg_printer *p, struct go_pool_alias **ret,
				     size_t *nret)
{
	struct ctx c = { .t = t };
	struct go_pool_alias *a = NULL;
	size_t n = 0, cap = 0;
	*ret = NULL;
	*nret = 0;
	struct memdbg_error *err = collect(&c, p);
	if (err && c.no_layout) {
		memdbg_error_destroy(err);
		err = NULL;
	}
	for (size_t i = 0; i < c.npools && !err; i++)
		for (size_t k = 0; k < c.pools[i].nents && !err; k++) {
			const struct entry *e = &c.pools[i].ents[k];
			if (!e->referrer)
				continue;
			if (n == cap) {
				size_t m = cap ? 2 * cap : 8;
				struct go_pool_alias *b = realloc(a, m * sizeof(*b));
				if (!b) {
					err = memdbg_enomem;
					break;
				}
				a = b;
				cap = m;
			}
			struct go_pool_alias *x = &a[n++];
			snprintf(x->pool, sizeof(x->pool), "%s", c.pools[i].name);
			x->pool_addr = c.pools[i].addr;
			x->id = e->id;
			x->p = e->p;
			x->referrer = e->referrer;
			x->cache = cache_names[e->cache];
			x->slot = slot_names[e->slot];
		}
	free_ctx(&c);
	if (err) {
		free(a);
		return err;
	}
	*ret = a;
	*nret = n;
	return NULL;
}

struct memdbg_error *go_pool_totals(struct memdbg_target *t, struct memdbg_printer *p, struct go_pool_total **ret,
				    size_t *nret)
{
	struct ctx c = { .t = t };
	*ret = NULL;
	*nret = 0;
	struct memdbg_error *err = collect(&c, p);
	if (err && c.no_layout) {
		memdbg_error_destroy(err);
		err = NULL;
	}
	struct go_pool_total *a = err ? NULL : calloc(c.npools ? c.npools : 1, sizeof(*a));
	if (!err && !a)
		err = memdbg_enomem;
	for (size_t i = 0; i < c.npools && !err; i++) {
		snprintf(a[i].name, sizeof(a[i].name), "%s", c.pools[i].name);
		a[i].addr = c.pools[i].addr;
		a[i].objects = c.pools[i].nents;
		for (size_t k = 0; k < c.pools[i].nents; k++)
			a[i].bytes += c.pools[i].ents[k].bytes;
		a[i].retained = c.pools[i].retained;
	}
	free_ctx(&c);
	if (err)
		return err;
	*ret = a;
	*nret = c.npools;
	return NULL;
}

static struct memdbg_error *run_pool_residue(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	uint64_t only = 0;
	const char *arg = memdbg_arg_value(a, "--pool");
	if (arg) {
		char *end;
		only = strtoull(arg, &end, 0);
		if (*end || end == arg || !only)
			return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "pool-residue: '%s' is not an address",
						   arg);
	}
	struct ctx c = { .t = t };
	struct memdbg_error *err = collect(&c, p);
	if (err) {
		free_ctx(&c);
		return err;
	}
	if (c.npools)  /* none: c.pools is NULL */
		qsort(c.pools, c.npools, sizeof(*c.pools), pool_cmp);
	bool found = !only;
	for (size_t i = 0; i < c.npools; i++)
		found |= c.pools[i].addr == only;
	if (!found) {
		free_ctx(&c);
		return memdbg_error_format(MEMDBG_ERROR_LOOKUP,
					   "pool-residue: no sync.Pool at 0x%" PRIx64
					   " (pools come from sync.allPools, sync.oldPools and sync.Pool globals)",
					   only);
	}
	/* private, shared, victim private, victim shared, objects, bytes, retained, problems, held outside */
	uint64_t tot[9] = { 0 };
	memdbg_begin_array(p, "pools", "Pools");
	for (size_t i = 0; i < c.npools && !err; i++)
		if (!only || c.pools[i].addr == only)
			err = print_pool(&c, p, &c.pools[i], only != 0, tot);
	if (err) {
		free_ctx(&c);
		return err;
	}
	memdbg_end_array(p);
	memdbg_begin_object(p, "totals", "Totals");
	memdbg_field_u64(p, "pools", only ? 1 : c.npools);
	memdbg_field_u64(p, "count", tot[4]);
	memdbg_field_u64(p, "bytes", tot[5]);
	memdbg_field_u64(p, "private", tot[0]);
	memdbg_field_u64(p, "shared", tot[1]);
	memdbg_field_u64(p, "victim_private", tot[2]);
	memdbg_field_u64(p, "victim_shared", tot[3]);
	memdbg_field_u64(p, "retained_only_bytes", tot[6]);
	memdbg_field_u64(p, "held_outside", tot[8]);
	memdbg_field_u64(p, "problems", tot[7] + c.list_problems);
	memdbg_end_object(p);
	if (tot[7] + c.list_problems)
		memdbg_note(p, "%" PRIu64 " pool records or list entries could not be read or contradict each other "
			    "(counted in each pool's inconsistent/unreadable)", tot[7] + c.list_problems);
	free_ctx(&c);
	return NULL;
}

static const struct memdbg_opt pool_residue_opts[] = {
	{ "--pool", "ADDR", "only the sync.Pool at ADDR, with every pooled object listed" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_pool_residue = {
	.info = {
		.name = "pool-residue",
		.summary = "what every sync.Pool holds, per P: private, shared chain, victim cache; bytes only pools keep",
		.usage = "pool-residue [--pool ADDR] [--json]",
		.help = "Pools come from sync.allPools, sync.oldPools and globals of type sync.Pool.  Per P:\n"
			"the private object and the shared chain's dequeue slots [tail, head), for the local\n"
			"and the victim cache.  Bytes are the pooled objects' slot sizes.  retained_only_bytes\n"
			"sums the retained bytes (dominator tree) of pooled objects that only the pool keeps.",
	},
	.opts = pool_residue_opts,
	.needs_target = true,
	.run = run_pool_residue,
};
