/*
 * leaks.c - blocked goroutines that nothing can wake.
 *
 * What a goroutine waits on comes from the runtime's own records: g.waiting
 * (the sudogs of a channel operation or select, each naming its hchan), the
 * semaphore table (a sudog per waiter, elem = the semaphore word inside the
 * Mutex or WaitGroup), and for sync.Cond the sudog on the cond's notify list
 * (a sudog whose g is the waiter, among the g's referrers).  Whether anything
 * can still wake it is reachability in the object graph from the roots that
 * can still act: globals, finalizers, and the stacks (and g) of goroutines
 * that are not stuck.  The runtime's bookkeeping would make everything
 * reachable, so the walk neither enters a stuck goroutine's g nor leaves a
 * sudog except to its queue neighbours.  The walk reads each object's
 * pointer maps when it reaches it, the same slots and the same value -> node
 * mapping the graph's edges were made from, so it follows the graph's edges
 * without a forward copy of them (the graph keeps only the reverse index;
 * turning that around cost 4 B per node + 4 B per edge at triage's peak).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/leaks.h"

#define MAX_WAITING 100000  /* sudogs followed on one g.waiting list */
#define MAX_TREAP (1u << 22)  /* sema sudogs walked in the semaphore table */
#define SEMTAB_SIZE 251       /* runtime.semTabSize, unchanged since it exists */

struct leak_layout {
	uint64_t g_waiting, sg_g, sg_next, sg_prev, sg_elem, sg_waitlink, sg_c, sg_size, sema_treap;
	uint64_t semtable, semtab_elem;
	bool has_sema;
};

struct stack_root {
	uint64_t goid;
	size_t root;  /* index into o->roots */
};

struct lctx {
	struct memdbg_target *t;
	struct memdbg_go *go;
	struct go_objects *o;
	const struct go_graph *graph;
	struct memdbg_printer *p;
	struct leak_layout l;
	struct go_wait *w;
	size_t nw;
	bool *stuck;               /* per w: still a candidate */
	struct go_map g_index;     /* g's node + 1 -> w index + 1 */
	struct go_map sudogs;      /* object id + 1 of every sudog known */
	struct go_map sema_elem;   /* g address -> the semaphore word it waits on */
	uint8_t *g_node;           /* per node: the g of a goroutine in w */
	uint8_t *target;           /* per node: an object a stuck goroutine waits on */
	size_t targets_left;       /* targets not marked yet: marking stops at 0 */
	bool *sudog_type;          /* per object type: runtime.sudog */
	uint8_t *marked;           /* per node: reached from a root that can act */
	uint32_t *queue;           /* nodes */
	size_t qn, qcap;
	struct stack_root *sroots; /* stack roots by goroutine id */
	size_t nsroots;
	uint64_t scan_base;        /* the sudog being scanned; 0: an object that is not a sudog */
	bool oom;
};

static uint64_t rd(struct lctx *c, uint64_t addr)
{
	uint64_t v = 0;
	struct memdbg_error *err = memdbg_read_u64(c->t, addr, &v);
	memdbg_error_destroy(err);
	return err ? 0 : v;
}

static bool member(struct lctx *c, const char *type, const char *path, uint64_t *off)
{
	return memdbg_dwarf_member(c->t->dwarf, type, path, off, NULL);
}

static bool load_layout(struct lctx *c)
{
	struct leak_layout *l = &c->l;
	if (!member(c, "runtime.g", "waiting", &l->g_waiting) || !member(c, "runtime.sudog", "g", &l->sg_g) ||
	    !member(c, "runtime.sudog", "next", &l->sg_next) || !member(c, "runtime.sudog", "prev", &l->sg_prev) ||
	    !member(c, "runtime.sudog", "elem", &l->sg_elem) || !member(c, "runtime.sudog", "waitlink", &l->sg_waitlink) ||
	    !member(c, "runtime.sudog", "c", &l->sg_c) || !memdbg_dwarf_type_size(c->t->dwarf, "runtime.sudog", &l->sg_size))
		return false;
	uint64_t size;
	l->has_sema = member(c, "runtime.semaRoot", "treap", &l->sema_treap) &&
		      memdbg_target_symbol(c->t, "runtime.semtable", &l->semtable, &size) && size && size % SEMTAB_SIZE == 0;
	if (l->has_sema)
		l->semtab_elem = size / SEMTAB_SIZE;
	return true;
}

/* What a wait reason means here. */
static enum go_block_kind block_kind(const char *reason)
{
	static const struct { const char *prefix; enum go_block_kind kind; } kinds[] = {
		{ "chan receive (nil chan)", GO_BLOCK_NIL_CHAN }, { "chan send (nil chan)", GO_BLOCK_NIL_CHAN },
		{ "select (no cases)", GO_BLOCK_NONE },  /* select {}: blocking for good on purpose */
		{ "chan receive", GO_BLOCK_CHAN }, { "chan send", GO_BLOCK_CHAN }, { "select", GO_BLOCK_CHAN },
		{ "sync.Cond.Wait", GO_BLOCK_COND }, { "sync.Mutex.Lock", GO_BLOCK_SEMA },
		{ "sync.RWMutex.RLock", GO_BLOCK_SEMA }, { "sync.RWMutex.Lock", GO_BLOCK_SEMA },
		{ "sync.WaitGroup.Wait", GO_BLOCK_SEMA }, { "semacquire", GO_BLOCK_SEMA },
	};
	for (size_t i = 0; reason && i < MEMDBG_ARRAY_SIZE(kinds); i++)
		if (strncmp(reason, kinds[i].prefix, strlen(kinds[i].prefix)) == 0)
			return kinds[i].kind;
	return GO_BLOCK_NONE;
}

static uint64_t object_of(struct lctx *c, uint64_t addr)
{
	uint64_t id;
	return addr && go_object_at(c->o, addr, &id) ? id : UINT64_MAX;
}

static bool add_blocker(struct go_wait *w, uint64_t addr, uint64_t object)
{
	if (!go_grow((void **)&w->on, &w->on_cap, w->non, sizeof(*w->on)))
		return false;
	w->on[w->non++] = (struct go_blocker){ addr, object };
	return true;
}

static void note_sudog(struct lctx *c, uint64_t sg)
{
	uint64_t id = object_of(c, sg);
	if (id != UINT64_MAX && !go_map_put(&c->sudogs, id + 1, (void *)1))
		c->oom = true;
}

/* The channels of a channel operation or select: g.waiting, linked by waitlink. */
static void chan_blockers(struct lctx *c, struct go_wait *w)
{
	uint64_t sg = rd(c, w->g->addr + c->l.g_waiting);
	for (size_t n = 0; sg && n < MAX_WAITING && !c->oom; n++, sg = rd(c, sg + c->l.sg_waitlink)) {
		note_sudog(c, sg);
		uint64_t ch = rd(c, sg + c->l.sg_c);
		if (ch && !add_blocker(w, ch, object_of(c, ch)))
			c->oom = true;
	}
}

/* Every sudog of the semaphore table: the treap of addresses, each with its list of waiters. */
static void walk_semtable(struct lctx *c)
{
	const struct leak_layout *l = &c->l;
	if (!l->has_sema)
		return;
	uint64_t *stack = malloc(4096 * sizeof(*stack));
	size_t seen = 0;
	if (!stack) {
		c->oom = true;
		return;
	}
	for (uint64_t i = 0; i < SEMTAB_SIZE && !c->oom; i++) {
		size_t top = 0;
		uint64_t root = rd(c, l->semtable + i * l->semtab_elem + l->sema_treap);
		if (root)
			stack[top++] = root;
		while (top && seen < MAX_TREAP && !c->oom) {
			uint64_t node = stack[--top];
			for (uint64_t sg = node; sg && seen < MAX_TREAP; sg = rd(c, sg + l->sg_waitlink), seen++) {
				note_sudog(c, sg);
				uint64_t g = rd(c, sg + l->sg_g), elem = rd(c, sg + l->sg_elem);
				if (g && elem && !go_map_put(&c->sema_elem, g, (void *)(uintptr_t)elem))
					c->oom = true;
			}
			uint64_t kids[2] = { rd(c, node + l->sg_prev), rd(c, node + l->sg_next) };
			for (int k = 0; k < 2; k++)
				if (kids[k] && top < 4096)
					stack[top++] = kids[k];
		}
	}
	free(stack);
}

/* The graph node of object id (UINT64_MAX: none); 0 when it is not a live object. */
static uint32_t node_of(struct lctx *c, uint64_t id)
{
	return id == UINT64_MAX ? 0 : go_graph_node(c->graph, id);
}

/* A cond waiter's sudog: an object pointing to the g whose sudog.g is the g. */
static void cond_blocker(struct lctx *c, struct go_wait *w)
{
	const struct go_graph *gr = c->graph;
	uint32_t v = node_of(c, object_of(c, w->g->addr));
	if (!v)
		return;
	for (uint32_t e = gr->rev_off[v]; e < gr->rev_off[v + 1]; e++) {
		uint32_t u = gr->rev[e];
		if (u < go_graph_first_obj(gr))
			continue;
		uint64_t id = go_graph_id(gr, u);
		const struct go_heap_span *h = go_span_of_id(c->o, id);
		uint64_t base = go_id_addr(h, id);
		/* A sudog's slot: its size class, g its waiter, no elem (a notify list waiter passes no value). */
		if (h->header || h->noscan || h->elemsize < c->l.sg_size || h->elemsize >= c->l.sg_size + 32 ||
		    rd(c, base + c->l.sg_g) != w->g->addr || rd(c, base + c->l.sg_elem) != 0)
			continue;
		note_sudog(c, base);
		if (!add_blocker(w, base, id))
			c->oom = true;
		return;
	}
}

/* ---- reachability from the roots that can still act ---- */

static void push(struct lctx *c, uint32_t v)
{
	if (!v || !c->targets_left || go_bit(c->marked, v))
		return;
	if (go_bit(c->g_node, v)) {
		uintptr_t wi = (uintptr_t)go_map_get(&c->g_index, (uint64_t)v + 1);
		if (wi && c->stuck[wi - 1])
			return;  /* a stuck goroutine's g: its wait records would reach everything */
	}
	go_set_bit(c->marked, v);
	if (go_bit(c->target, v))
		c->targets_left--;
	if (!go_grow((void **)&c->queue, &c->qcap, c->qn, sizeof(*c->queue))) {
		c->oom = true;
		return;
	}
	c->queue[c->qn++] = v;
}

/* An object's pointer leads to what it points to; a sudog's only to its queue neighbours. */
static void visit_pointer(void *arg, uint64_t slot, uint64_t value)
{
	struct lctx *c = arg;
	uint64_t off = slot - c->scan_base;
	if (!c->scan_base || off == c->l.sg_next || off == c->l.sg_prev)
		push(c, node_of(c, object_of(c, value)));
}

static bool is_sudog(struct lctx *c, uint64_t id)
{
	return c->sudog_type[c->o->type[id]] || go_map_get(&c->sudogs, id + 1);
}

static void drain(struct lctx *c)
{
	while (c->qn && c->targets_left && !c->oom) {
		uint32_t v = c->queue[--c->qn];
		uint64_t id = go_graph_id(c->graph, v);
		c->scan_base = 0;
		if (is_sudog(c, id)) {
			const struct go_heap_span *h = go_span_of_id(c->o, id);
			c->scan_base = go_id_addr(h, id) + (h->header ? 8 : 0);
		}
		go_object_pointers(c->t, c->go, c->o, id, visit_pointer, c);
	}
}

/* Which object types are runtime.sudog, by index into o->otypes. */
static bool load_sudog_types(struct lctx *c)
{
	c->sudog_type = calloc(c->o->notypes + 1, sizeof(*c->sudog_type));
	if (!c->sudog_type)
		return false;
	for (size_t k = 1; k < c->o->notypes; k++)
		c->sudog_type[k] = strcmp(c->o->otypes[k].name, "runtime.sudog") == 0;
	return true;
}

static int sroot_cmp(const void *a, const void *b)
{
	const struct stack_root *x = a, *y = b;
	return x->goid < y->goid ? -1 : x->goid > y->goid;
}

/* Stack roots by goroutine id: "goroutine N ..." */
static bool index_stack_roots(struct lctx *c)
{
	c->sroots = malloc((c->o->nroots ? c->o->nroots : 1) * sizeof(*c->sroots));
	if (!c->sroots)
		return false;
	for (size_t i = 0; i < c->o->nroots; i++) {
		const struct go_root *r = &c->o->roots[i];
		unsigned long long goid;
		if (r->kind == GO_ROOT_STACK && sscanf(r->name, "goroutine %llu", &goid) == 1)
			c->sroots[c->nsroots++] = (struct stack_root){ goid, i };
	}
	qsort(c->sroots, c->nsroots, sizeof(*c->sroots), sroot_cmp);
	return true;
}

/* Whether root i belongs to the stack of a goroutine that is still stuck. */
static bool stuck_root(struct lctx *c, size_t i, const struct go_map *stuck_goids)
{
	const struct go_root *r = &c->o->roots[i];
	unsigned long long goid;
	return r->kind == GO_ROOT_STACK && sscanf(r->name, "goroutine %llu", &goid) == 1 &&
	       go_map_get(stuck_goids, goid);
}

/* A goroutine that can run again acts on what its stack and its g hold. */
static void release(struct lctx *c, size_t wi)
{
	c->stuck[wi] = false;
	struct stack_root key = { c->w[wi].g->goid, 0 };
	size_t lo = 0, hi = c->nsroots;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sroot_cmp(&c->sroots[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < c->nsroots && c->sroots[lo].goid == key.goid; lo++)
		push(c, node_of(c, c->o->roots[c->sroots[lo].root].object));
	push(c, node_of(c, object_of(c, c->w[wi].g->addr)));
}

/* The goroutine that owns the stack holding addr, or SIZE_MAX. */
static size_t stack_owner(struct lctx *c, uint64_t addr)
{
	for (size_t i = 0; i < c->nw; i++)
		if (addr >= c->w[i].g->stack_lo && addr < c->w[i].g->stack_hi)
			return i;
	return SIZE_MAX;
}

static bool wakeable(struct lctx *c, size_t wi)
{
	const struct go_wait *w = &c->w[wi];
	if (w->kind == GO_BLOCK_NIL_CHAN)
		return false;
	if (!w->non)
		return true;  /* what it waits on is unknown: never call it a leak */
	for (size_t k = 0; k < w->non; k++) {
		const struct go_blocker *b = &w->on[k];
		if (b->object != UINT64_MAX) {
			uint32_t v = node_of(c, b->object);
			if (v && go_bit(c->marked, v))
				return true;
			continue;
		}
		size_t owner = stack_owner(c, b->addr);
		if (owner == SIZE_MAX || (owner != wi && !c->stuck[owner]))
			return true;  /* a global, or on the stack of a goroutine that can run */
	}
	return false;
}

static struct memdbg_error *find_blockers(struct lctx *c, const struct go_goroutine *gs, size_t ng)
{
	c->w = calloc(ng ? ng : 1, sizeof(*c->w));
	c->stuck = calloc(ng ? ng : 1, sizeof(*c->stuck));
	if (!c->w || !c->stuck)
		return memdbg_enomem;
	c->nw = ng;
	walk_semtable(c);
	for (size_t i = 0; i < ng && !c->oom; i++) {
		struct go_wait *w = &c->w[i];
		w->g = &gs[i];
		w->kind = gs[i].system ? GO_BLOCK_NONE : block_kind(gs[i].wait_reason_name);
		if (w->kind == GO_BLOCK_CHAN) {
			chan_blockers(c, w);
		} else if (w->kind == GO_BLOCK_SEMA) {
			uint64_t elem = (uint64_t)(uintptr_t)go_map_get(&c->sema_elem, gs[i].addr);
			if (elem && !add_blocker(w, elem, object_of(c, elem)))
				c->oom = true;
		} else if (w->kind == GO_BLOCK_COND) {
			cond_blocker(c, w);
		}
		c->stuck[i] = w->kind != GO_BLOCK_NONE;
		uint32_t gv = node_of(c, object_of(c, gs[i].addr));
		if (gv) {
			go_set_bit(c->g_node, gv);
			if (!go_map_put(&c->g_index, (uint64_t)gv + 1, (void *)(uintptr_t)(i + 1)))
				c->oom = true;
		}
	}
	return c->oom ? memdbg_enomem : NULL;
}

/*
 * The marks that matter: wakeable() reads only those of the objects stuck
 * goroutines wait on, and goroutines only leave the stuck set.  Once all of
 * them are marked (or when there are none: the usual heap) the walk stops,
 * which spares reading the pointers of what is left.
 */
static void find_targets(struct lctx *c)
{
	for (size_t i = 0; i < c->nw; i++) {
		for (size_t k = 0; c->stuck[i] && c->w[i].kind != GO_BLOCK_NIL_CHAN && k < c->w[i].non; k++) {
			uint32_t v = c->w[i].on[k].object == UINT64_MAX ? 0 : node_of(c, c->w[i].on[k].object);
			if (v && !go_bit(c->target, v)) {
				go_set_bit(c->target, v);
				c->targets_left++;
			}
		}
	}
}

static struct memdbg_error *settle(struct lctx *c)
{
	find_targets(c);
	struct go_map stuck_goids = { 0 };
	for (size_t i = 0; i < c->nw; i++)
		if (c->stuck[i] && !go_map_put(&stuck_goids, c->w[i].g->goid ? c->w[i].g->goid : UINT64_MAX, (void *)1))
			c->oom = true;
	for (size_t i = 0; i < c->o->nroots && !c->oom; i++)
		if (!c->o->roots[i].weak && !stuck_root(c, i, &stuck_goids))
			push(c, node_of(c, c->o->roots[i].object));
	go_map_free(&stuck_goids);
	for (size_t i = 0; i < c->nw && !c->oom; i++)
		if (!c->stuck[i])
			push(c, node_of(c, object_of(c, c->w[i].g->addr)));
	for (bool changed = true; changed && !c->oom;) {
		struct memdbg_error *err = memdbg_check_interrupt(c->p);
		if (err)
			return err;
		drain(c);
		changed = false;
		for (size_t i = 0; i < c->nw && !c->oom; i++) {
			if (c->stuck[i] && wakeable(c, i)) {
				release(c, i);
				changed = true;
			}
		}
	}
	for (size_t i = 0; i < c->nw; i++)
		c->w[i].leaked = c->stuck[i];
	return c->oom ? memdbg_enomem : NULL;
}

void go_leaks_free(struct go_wait *w, size_t n)
{
	for (size_t i = 0; w && i < n; i++)
		free(w[i].on);
	free(w);
}

struct memdbg_error *go_leaks(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o,
			      const struct go_graph *graph, struct go_stack *s, struct memdbg_printer *p,
			      struct go_wait **ret, size_t *n)
{
	const struct go_goroutine *gs;
	size_t ng;
	struct memdbg_error *err = go_goroutines(s, &gs, &ng, NULL);
	if (err)
		return err;
	struct lctx c = { .t = t, .go = go, .o = o, .graph = graph, .p = p };
	if (!t->dwarf || !load_layout(&c))
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
					   "runtime.g.waiting or runtime.sudog is not in the DWARF of this binary");
	c.marked = calloc(graph->nnodes / 8 + 1, 1);
	c.g_node = calloc(graph->nnodes / 8 + 1, 1);
	c.target = calloc(graph->nnodes / 8 + 1, 1);
	if (!c.marked || !c.g_node || !c.target || !index_stack_roots(&c) || !load_sudog_types(&c))
		err = memdbg_enomem;
	if (!err)
		err = find_blockers(&c, gs, ng);
	if (!err)
		err = settle(&c);
	free(c.marked);
	free(c.g_node);
	free(c.target);
	free(c.sudog_type);
	free(c.queue);
	free(c.sroots);
	free(c.stuck);
	go_map_free(&c.g_index);
	go_map_free(&c.sudogs);
	go_map_free(&c.sema_elem);
	if (err) {
		go_leaks_free(c.w, c.nw);
		return err;
	}
	*ret = c.w;
	*n = c.nw;
	return NULL;
}
