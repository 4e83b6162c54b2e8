/* holds.c - who-holds, retained and top-retainers over the reverse index and dominator tree. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/graph.h"
#include "go/types.h"

#define MAX_PATHS 100
#define VIA_MAX 256
#define KEY_MAX 48   /* bytes of a string map key shown in a hop */
#define HOP_TEXT 64  /* bytes of string data shown in a hop */

struct ctx {
	struct memdbg_target *t;
	struct memdbg_go *go;
	struct go_objects *o;
	struct go_graph *g;
};

static struct memdbg_error *open_graph(struct memdbg_target *t, struct memdbg_printer *p, struct ctx *c)
{
	struct memdbg_error *err;
	c->t = t;
	if ((err = memdbg_go_get(t, &c->go)) || (err = go_objects_get(t, c->go, p, &c->o)))
		return err;
	return go_graph_get(t, c->go, c->o, p, &c->g);
}

/* The heap object containing addr, or a one-line error saying what is there instead. */
static struct memdbg_error *target_object(struct ctx *c, const char *cmd, uint64_t addr, uint64_t *id)
{
	const struct go_heap_span *h;
	uint64_t slot;
	if (!go_find_object(c->o, addr, &h, &slot))
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "%s: 0x%" PRIx64 " is not in the Go heap", cmd,
					   addr);
	*id = h->first + slot;
	if (!go_bit(c->o->alloc, *id))
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT,
					   "%s: 0x%" PRIx64 " is in a free slot of the span at 0x%" PRIx64, cmd, addr,
					   h->start);
	return NULL;
}

static uint64_t obj_base(const struct ctx *c, uint64_t id)
{
	return go_id_addr(go_span_of_id(c->o, id), id);
}

static void print_object_ref(const struct ctx *c, struct memdbg_printer *p, uint64_t id)
{
	const char *type = go_objtype_name(c->o, id);
	memdbg_field_hex(p, "addr", obj_base(c, id));
	if (type)
		memdbg_field_str(p, "type", type);
	else
		memdbg_field_null(p, "type");
}

/* ---- how a holder points to a target ---- */

static void appendf(char *buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t *len, const char *fmt, ...)
{
	if (*len >= VIA_MAX)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *len, VIA_MAX - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len = *len + (size_t)n < VIA_MAX ? *len + (size_t)n : VIA_MAX - 1;
}

/* A map key, quoted when a string, for "map value (key ...)". */
static void append_key(struct ctx *c, const struct go_type *kt, uint64_t at, char *buf, size_t *len)
{
	uint64_t w[2] = { 0, 0 };
	struct memdbg_error *err = memdbg_read(c->t, at, w, kt && kt->kind == GO_KIND_STRING ? 16 : 8);
	if (err || !kt) {
		memdbg_error_destroy(err);
		appendf(buf, len, "?");
		return;
	}
	if (kt->kind == GO_KIND_STRING) {
		char s[4 * KEY_MAX + 40];
		appendf(buf, len, "%s", go_quote_string(c->t, w[0], w[1], KEY_MAX, s, sizeof(s)) ? s : "?");
	} else if (kt->size <= 8) {
		uint64_t v = kt->size == 8 ? w[0] : w[0] & ((1ull << (8 * kt->size)) - 1);
		appendf(buf, len, "%" PRId64, (int64_t)v);
	} else {
		appendf(buf, len, "?");
	}
}

static const struct go_field *field_named(const struct go_type *ty, const char *name)
{
	for (size_t i = 0; ty && i < ty->nfields; i++)
		if (ty->fields[i].name && strcmp(ty->fields[i].name, name) == 0)
			return &ty->fields[i];
	return NULL;
}

/* Map buckets (keys[8], elems[8]) and swiss groups (slots[8]{key, elem}): say which key. */
static bool describe_map_slot(struct ctx *c, const struct go_type *ty, uint64_t base, uint64_t off, char *buf,
			      size_t *len)
{
	const struct go_field *keys = field_named(ty, "keys"), *elems = field_named(ty, "elems"),
			      *slots = field_named(ty, "slots");
	if (keys && elems) {
		const struct go_type *kt = go_type_at(c->t, c->go, keys->type, NULL),
				     *et = go_type_at(c->t, c->go, elems->type, NULL);
		const struct go_type *k1 = kt ? go_type_at(c->t, c->go, kt->elem, NULL) : NULL,
				     *e1 = et ? go_type_at(c->t, c->go, et->elem, NULL) : NULL;
		if (!k1 || !e1 || !k1->size || !e1->size)
			return false;
		if (off >= elems->offset && off < elems->offset + et->size) {
			uint64_t i = (off - elems->offset) / e1->size;
			appendf(buf, len, "map value (key ");
			append_key(c, k1, base + keys->offset + i * k1->size, buf, len);
			appendf(buf, len, ")");
			return true;
		}
		if (off >= keys->offset && off < keys->offset + kt->size) {
			appendf(buf, len, "map key");
			return true;
		}
		return false;
	}
	if (!slots)
		return false;
	const struct go_type *st = go_type_at(c->t, c->go, slots->type, NULL);
	const struct go_type *slot = st ? go_type_at(c->t, c->go, st->elem, NULL) : NULL;
	const struct go_field *key = field_named(slot, "key"), *elem = field_named(slot, "elem");
	if (!slot || !slot->size || !key || !elem || off < slots->offset)
		return false;
	uint64_t i = (off - slots->offset) / slot->size, in = (off - slots->offset) % slot->size;
	if (in >= elem->offset) {
		appendf(buf, len, "map value (key ");
		append_key(c, go_type_at(c->t, c->go, key->type, NULL), base + slots->offset + i * slot->size + key->offset,
			   buf, len);
		appendf(buf, len, ")");
	} else {
		appendf(buf, len, "map key");
	}
	return true;
}

/* How object holder points to object target: ".next", "[3]", "map value (key \"k\")", "closure var". */
static void describe_via(struct ctx *c, uint64_t holder, uint64_t target, char *buf)
{
	size_t len = 0;
	buf[0] = '\0';
	uint64_t slot = go_slot_to(c->t, c->go, c->o, holder, target);
	const struct go_heap_span *h = go_span_of_id(c->o, holder);
	uint64_t base = go_id_addr(h, holder) + (h->header ? 8 : 0);
	uint32_t k = c->o->type[holder];
	const struct go_objtype *ot = k ? &c->o->otypes[k] : NULL;
	if (!slot) {
		appendf(buf, &len, "?");
		return;
	}
	uint64_t off = slot - base;
	if (ot && !ot->type && strncmp(ot->name, "closure ", 8) == 0) {
		appendf(buf, &len, "closure var");
		return;
	}
	const struct go_type *ty = ot && ot->type ? go_type_at(c->t, c->go, ot->type, NULL) : NULL;
	if (!ty || !ty->size) {
		appendf(buf, &len, "+%" PRIu64, off);
		return;
	}
	uint64_t elem_base = base + (ot->count ? off / ty->size * ty->size : 0);
	/* A map's groups or buckets: the key says more than the position. */
	if (ty->name && (strncmp(ty->name, "map.group[", 10) == 0 || strncmp(ty->name, "map.bucket[", 11) == 0) &&
	    describe_map_slot(c, ty, elem_base, off - (elem_base - base), buf, &len))
		return;
	len = 0;
	buf[0] = '\0';
	if (ot->count) {
		appendf(buf, &len, "[%" PRIu64 "]", off / ty->size);
		off %= ty->size;
	}
	go_type_field_path(c->t, c->go, ty, off, buf, VIA_MAX);
	len = strlen(buf);
	if (!len)
		appendf(buf, &len, "%s", ty->kind == GO_KIND_INTERFACE ? "interface" : "");
}

/* ---- roots as people name them ---- */

static const char *const kind_names[] = { "global", "stack", "finalizer", "other" };

/*
 * A root's name; a sync.Pool global becomes "sync.Pool main.pool, P3" (with
 * ", victim" for the victim cache), from the poolLocal the path goes through.
 */
static void root_name(struct ctx *c, uint32_t rnode, const uint64_t *path, size_t n, char *buf, size_t size,
		      const char **kind)
{
	const struct go_root *r = &c->o->roots[c->g->root_index[rnode]];
	*kind = kind_names[r->kind];
	snprintf(buf, size, "%s", r->name);
	if (r->kind != GO_ROOT_GLOBAL || !r->global_type || strcmp(r->global_type, "sync.Pool") != 0 || n < 2)
		return;
	uint64_t local, victim, stride;
	struct memdbg_dwarf *d = c->t->dwarf;
	if (!memdbg_dwarf_member(d, "sync.Pool", "local", &local, NULL) ||
	    !memdbg_dwarf_member(d, "sync.Pool", "victim", &victim, NULL) ||
	    !memdbg_dwarf_type_size(d, "sync.poolLocal", &stride) || !stride)
		return;
	uint64_t field = r->addr - r->global_base;
	if (field != local && field != victim)
		return;
	uint64_t slot = go_slot_to(c->t, c->go, c->o, path[0], path[1]);
	if (!slot)
		return;
	uint64_t pidx = (slot - obj_base(c, path[0])) / stride;
	/* The pool's own name: the root's, less the field's "+16" (without symbols "bss+0x20+16"). */
	const char *var = r->name, *plus = field ? strrchr(var, '+') : NULL;
	size_t vlen = plus ? (size_t)(plus - var) : strlen(var);
	*kind = "pool";
	snprintf(buf, size, "sync.Pool %.*s, P%" PRIu64 "%s", (int)vlen, var, pidx, field == victim ? ", victim" : "");
}

/* ---- who-holds ---- */

static bool weakly_held(const struct ctx *c, uint64_t id)
{
	for (size_t i = 0; i < c->o->nweak; i++) {
		uint64_t w;
		if (go_object_at(c->o, c->o->weak_referents[i], &w) && w == id)
			return true;
	}
	return false;
}

/*
 * The nodes a who-holds search reached, each with the next node toward the
 * target (+ 1) and its depth: a hash table sized to the search, not to the
 * heap, so that a query costs what it visits (arrays of every node cost
 * page faults in proportion to the heap).
 */
struct visited {
	uint32_t *key;  /* node + 1; 0: empty */
	uint32_t *toward, *depth;
	size_t cap, n;
};

static size_t visit_slot(const struct visited *m, uint32_t v)
{
	size_t k = ((uint64_t)v * 0x9e3779b97f4a7c15ull) >> 40 & (m->cap - 1);
	while (m->key[k] && m->key[k] != v + 1)
		k = (k + 1) & (m->cap - 1);
	return k;
}

/* v's next node toward the target, + 1; 0 when the search did not reach v. */
static uint32_t visit_toward(const struct visited *m, uint32_t v)
{
	size_t k = visit_slot(m, v);
	return m->key[k] ? m->toward[k] : 0;
}

static bool visit_add(struct visited *m, uint32_t v, uint32_t toward, uint32_t depth)
{
	if (2 * (m->n + 1) > m->cap) {
		struct visited g = { .cap = m->cap ? 2 * m->cap : 4096 };
		g.key = calloc(g.cap, sizeof(*g.key));
		g.toward = malloc(g.cap * sizeof(*g.toward));
		g.depth = malloc(g.cap * sizeof(*g.depth));
		if (!g.key || !g.toward || !g.depth) {
			free(g.key);
			free(g.toward);
			free(g.depth);
			return false;
		}
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->key[i])
				continue;
			size_t k = visit_slot(&g, m->key[i] - 1);
			g.key[k] = m->key[i];
			g.toward[k] = m->toward[i];
			g.depth[k] = m->depth[i];
		}
		g.n = m->n;
		free(m->key);
		free(m->toward);
		free(m->depth);
		*m = g;
	}
	size_t k = visit_slot(m, v);
	m->key[k] = v + 1;
	m->toward[k] = toward;
	m->depth[k] = depth;
	m->n++;
	return true;
}

static struct memdbg_error *print_path(struct ctx *c, struct memdbg_printer *p, uint32_t rnode,
				       const struct visited *seen)
{
	/* The hops from the root's object to the target, following toward (node + 1, 0 = none). */
	size_t n = 0;
	for (uint32_t v = visit_toward(seen, rnode) - 1; n < c->g->nnodes; v = visit_toward(seen, v) - 1) {
		n++;
		uint32_t next = visit_toward(seen, v);
		if (next == 0 || next - 1 == v)
			break;
	}
	uint64_t *ids = malloc((n ? n : 1) * sizeof(*ids));
	if (!ids)
		return memdbg_enomem;
	n = 0;
	for (uint32_t v = visit_toward(seen, rnode) - 1; n < c->g->nnodes; v = visit_toward(seen, v) - 1) {
		ids[n++] = go_graph_id(c->g, v);
		uint32_t next = visit_toward(seen, v);
		if (next == 0 || next - 1 == v)
			break;
	}
	char name[512];
	const char *kind;
	root_name(c, rnode, ids, n, name, sizeof(name), &kind);
	bool json = memdbg_printer_json(p);
	if (json) {
		memdbg_begin_object(p, NULL, NULL);
		memdbg_begin_object(p, "root", NULL);
		memdbg_field_str(p, "kind", kind);
		memdbg_field_str(p, "name", name);
		memdbg_end_object(p);
	} else {
		memdbg_note(p, "  root: %s %s", kind, name);
	}
	memdbg_begin_array(p, "hops", NULL);
	for (size_t i = 0; i < n; i++) {
		char via[VIA_MAX] = "";
		if (i)
			describe_via(c, ids[i - 1], ids[i], via);
		const char *type = go_objtype_name(c->o, ids[i]);
		char name[MEMDBG_NAME_WIDTH + 1], text[4 * HOP_TEXT + 40] = "";
		uint64_t len;
		if (go_string_data_len(c->t, c->go, c->o, ids[i], &len) &&
		    !go_quote_string(c->t, obj_base(c, ids[i]), len, HOP_TEXT, text, sizeof(text)))
			text[0] = '\0';
		if (json) {
			memdbg_begin_object(p, NULL, NULL);
			print_object_ref(c, p, ids[i]);
			memdbg_field_str(p, "via", via);
			if (text[0])
				memdbg_field_str(p, "text", text);
			memdbg_end_object(p);
		} else {
			memdbg_note(p, "    %s%s0x%" PRIx64 " %s%s%s", via, via[0] ? " -> " : "", obj_base(c, ids[i]),
				    type ? memdbg_elide(type, MEMDBG_NAME_WIDTH, name, sizeof(name)) : "(unknown type)",
				    text[0] ? " " : "", text);
		}
	}
	memdbg_end_array(p);
	if (json)
		memdbg_end_object(p);
	free(ids);
	return NULL;
}

static struct memdbg_error *run_who_holds(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct ctx c;
	uint64_t addr, id, npaths, max_depth;
	struct memdbg_error *err;
	if ((err = memdbg_arg_address(a, &addr)) ||
	    (err = memdbg_arg_u64(a, "--paths", 3, MAX_PATHS, &npaths)) ||
	    (err = memdbg_arg_u64(a, "--max-depth", UINT32_MAX, UINT32_MAX, &max_depth)) ||
	    (err = open_graph(t, p, &c)) || (err = target_object(&c, "who-holds", addr, &id)))
		return err;
	const struct go_graph *g = c.g;
	memdbg_begin_object(p, "target", "Target");
	memdbg_field_hex(p, "base", obj_base(&c, id));
	const char *type = go_objtype_name(c.o, id);
	if (type)
		memdbg_field_str(p, "type", type);
	else
		memdbg_field_null(p, "type");
	memdbg_field_u64(p, "size", go_span_of_id(c.o, id)->elemsize);
	memdbg_end_object(p);
	uint32_t node = go_graph_node(g, id);
	if (!node) {
		bool weak = weakly_held(&c, id);
		memdbg_field_str(p, "status", weak ? "weak-only" : "garbage");
		memdbg_begin_array(p, "paths", NULL);
		memdbg_end_array(p);
		memdbg_note(p, weak ? "only a weak handle refers to it: nothing holds it" :
				      "no root reaches it: garbage awaiting sweep");
		return NULL;
	}
	memdbg_field_str(p, "status", "reachable");
	/* Breadth-first from the target over the reverse edges; the queue is in visiting order. */
	struct visited seen = { 0 };
	uint32_t *queue = NULL;
	uint32_t roots[MAX_PATHS];
	size_t nroots = 0, head = 0;
	if (!visit_add(&seen, node, node + 1, 1) || !(queue = malloc(4096 * sizeof(*queue)))) {
		err = memdbg_enomem;
		goto out;
	}
	queue[0] = node;
	while (head < seen.n && nroots < npaths) {
		uint32_t v = queue[head++];
		if (v && v < go_graph_first_obj(g)) {
			roots[nroots++] = v;
			continue;
		}
		uint32_t d = seen.depth[visit_slot(&seen, v)];
		if (d > max_depth)
			continue;
		for (uint32_t k = g->rev_off[v]; k < g->rev_off[v + 1]; k++) {
			uint32_t u = g->rev[k];
			if (u == 0 || visit_toward(&seen, u))
				continue;
			size_t cap = seen.cap;
			if (!visit_add(&seen, u, v + 1, d + (u >= go_graph_first_obj(g)))) {
				err = memdbg_enomem;
				goto out;
			}
			if (seen.cap != cap) {  /* the queue holds at most the visited nodes: grow it with them */
				uint32_t *q = realloc(queue, seen.cap / 2 * sizeof(*q));
				if (!q) {
					err = memdbg_enomem;
					goto out;
				}
				queue = q;
			}
			queue[seen.n - 1] = u;
		}
		if ((head & 0xffff) == 0 && (err = memdbg_check_interrupt(p)))
			goto out;
	}
	memdbg_begin_array(p, "paths", NULL);
	for (size_t i = 0; i < nroots; i++) {
		if (!memdbg_printer_json(p))
			memdbg_note(p, "path %zu:", i + 1);
		if ((err = print_path(&c, p, roots[i], &seen)))
			break;
	}
	if (err)
		goto out;
	memdbg_end_array(p);
	if (!nroots)
		memdbg_note(p, "no path within %" PRIu64 " hops", max_depth);
out:
	free(seen.key);
	free(seen.toward);
	free(seen.depth);
	free(queue);
	return err;
}

/* ---- retained ---- */

/* The root node at the top of v's dominator chain, or 0 when several roots share it. */
static uint32_t dominating_root(const struct go_graph *g, uint32_t v)
{
	for (uint32_t hops = 0; v && v >= go_graph_first_obj(g) && hops < g->nnodes; hops++)
		v = g->idom[v];
	return v < go_graph_first_obj(g) ? v : 0;
}

/* A root as {"kind","name"}; path (first hop, second hop, ...) lets a sync.Pool name its P. */
static void print_root_ref(struct ctx *c, struct memdbg_printer *p, uint32_t rnode, const uint64_t *path, size_t n)
{
	memdbg_begin_object(p, "root", "root");
	if (rnode) {
		char name[512];
		const char *kind;
		root_name(c, rnode, path, n, name, sizeof(name), &kind);
		memdbg_field_str(p, "kind", kind);
		memdbg_field_str(p, "name", name);
	} else {
		memdbg_field_str(p, "kind", "roots");
		memdbg_field_str(p, "name", "(several roots)");
	}
	memdbg_end_object(p);
}

static struct memdbg_error *run_retained(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct ctx c;
	uint64_t addr, id;
	struct memdbg_error *err;
	if ((err = memdbg_arg_address(a, &addr)) || (err = open_graph(t, p, &c)) ||
	    (err = target_object(&c, "retained", addr, &id)))
		return err;
	const struct go_graph *g = c.g;
	uint32_t v = go_graph_node(g, id);
	memdbg_field_hex(p, "base", obj_base(&c, id));
	const char *type = go_objtype_name(c.o, id);
	if (type)
		memdbg_field_str(p, "type", type);
	else
		memdbg_field_null(p, "type");
	memdbg_field_u64(p, "retained_bytes", v ? g->retained[v] : 0);
	memdbg_field_u64(p, "retained_objects", v ? g->retained_count[v] : 0);
	/* The chain, nearest first; path[] is the same chain from the root's side, for naming it. */
	uint64_t path[2];
	size_t n = 0;
	uint32_t d = v ? g->idom[v] : 0;
	for (; v && d >= go_graph_first_obj(g) && n < g->nnodes; d = g->idom[d])
		n++;
	uint64_t *chain = malloc((n ? n : 1) * sizeof(*chain));
	if (!chain)
		return memdbg_enomem;
	n = 0;
	for (d = v ? g->idom[v] : 0; v && d >= go_graph_first_obj(g) && n < g->nnodes; d = g->idom[d])
		chain[n++] = go_graph_id(g, d);
	memdbg_begin_array(p, "dominators", "Dominators (nearest first)");
	for (size_t i = 0; i < n; i++) {
		const char *type = go_objtype_name(c.o, chain[i]);
		if (!memdbg_printer_json(p)) {
			memdbg_note(p, "  0x%" PRIx64 " %s", obj_base(&c, chain[i]), type ? type : "(unknown type)");
			continue;
		}
		memdbg_begin_object(p, NULL, NULL);
		print_object_ref(&c, p, chain[i]);
		memdbg_end_object(p);
	}
	if (v) {
		path[0] = n ? chain[n - 1] : id;
		path[1] = n > 1 ? chain[n - 2] : id;
		uint32_t rnode = d < go_graph_first_obj(g) ? d : 0;
		size_t plen = n ? (n > 1 || path[1] != path[0] ? 2 : 1) : 1;
		if (memdbg_printer_json(p)) {
			memdbg_begin_object(p, NULL, NULL);
			print_root_ref(&c, p, rnode, path, plen);
			memdbg_end_object(p);
		} else {
			char name[512];
			const char *kind = "roots";
			if (rnode)
				root_name(&c, rnode, path, plen, name, sizeof(name), &kind);
			else
				snprintf(name, sizeof(name), "(several roots)");
			memdbg_note(p, "  root: %s %s", kind, name);
		}
	}
	memdbg_end_array(p);
	free(chain);
	if (!v)
		memdbg_note(p, "no root reaches it: it retains nothing");
	return NULL;
}

/* ---- top-retainers ---- */

struct retainer {
	uint64_t bytes, count;
	uint32_t node;  /* object or root node; types: a representative object */
	uint32_t type;  /* otype index for --by type */
};

static int retainer_cmp(const void *a, const void *b)
{
	const struct retainer *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->node < y->node ? -1 : x->node > y->node;
}

/*
 * The best k rows seen so far (retainer_cmp order), as a heap whose top is
 * the worst of them: the top n of millions of nodes without sorting them all.
 */
struct top_rows {
	struct retainer *rows;
	size_t n, k;
};

static void top_sift_down(struct top_rows *t, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, worst = i;
		if (l < t->n && retainer_cmp(&t->rows[l], &t->rows[worst]) > 0)
			worst = l;
		if (r < t->n && retainer_cmp(&t->rows[r], &t->rows[worst]) > 0)
			worst = r;
		if (worst == i)
			return;
		struct retainer tmp = t->rows[i];
		t->rows[i] = t->rows[worst];
		t->rows[worst] = tmp;
		i = worst;
	}
}

static void top_add(struct top_rows *t, struct retainer r)
{
	if (t->n < t->k) {
		size_t i = t->n++;
		t->rows[i] = r;
		while (i && retainer_cmp(&t->rows[(i - 1) / 2], &t->rows[i]) < 0) {
			struct retainer tmp = t->rows[i];
			t->rows[i] = t->rows[(i - 1) / 2];
			t->rows[(i - 1) / 2] = tmp;
			i = (i - 1) / 2;
		}
	} else if (t->k && retainer_cmp(&r, &t->rows[0]) < 0) {
		t->rows[0] = r;
		top_sift_down(t, 0);
	}
}

static struct memdbg_error *write_pprof(struct ctx *c, const char *path);

static struct memdbg_error *run_top_retainers(struct memdbg_target *t, struct memdbg_args *a,
					      struct memdbg_printer *p)
{
	struct ctx c;
	uint64_t n;
	struct memdbg_error *err;
	const char *by = memdbg_arg_value(a, "--by");
	if (by && strcmp(by, "object") && strcmp(by, "type") && strcmp(by, "root"))
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT,
					   "top-retainers: --by wants object, type or root, not '%s'", by);
	int mode = !by || !strcmp(by, "object") ? 0 : !strcmp(by, "type") ? 1 : 2;
	if ((err = memdbg_arg_u64(a, "-n", 20, UINT32_MAX, &n)) || (err = open_graph(t, p, &c)))
		return err;
	const struct go_graph *g = c.g;
	const char *pprof = memdbg_arg_value(a, "--pprof");
	if (pprof && (err = write_pprof(&c, pprof)))
		return err;
	size_t candidates = mode == 0 ? g->nnodes - go_graph_first_obj(g) : mode == 1 ? c.o->notypes : g->nroots;
	struct top_rows top = { .k = n < candidates ? n : candidates };
	struct retainer *per_type = mode == 1 ? calloc(c.o->notypes + 1, sizeof(*per_type)) : NULL;
	if (!(top.rows = calloc(top.k ? top.k : 1, sizeof(*top.rows))) || (mode == 1 && !per_type)) {
		free(top.rows);
		free(per_type);
		return memdbg_enomem;
	}
	if (mode == 0) {
		for (uint32_t v = go_graph_first_obj(g); v < g->nnodes; v++)
			top_add(&top, (struct retainer){ g->retained[v], g->retained_count[v], v, 0 });
	} else if (mode == 2) {
		for (uint32_t r = 1; r < go_graph_first_obj(g); r++)
			top_add(&top, (struct retainer){ g->retained[r], g->retained_count[r], r, 0 });
	} else {
		/* Per type: objects whose immediate dominator is of another type, so nesting is not counted twice. */
		struct go_graph_cursor cur = go_graph_cursor_at(g, go_graph_first_obj(g));
		for (uint32_t v = go_graph_first_obj(g); v < g->nnodes; v++) {
			uint32_t ty = c.o->type[go_graph_cursor_next(g, &cur)], d = g->idom[v];
			if (!ty || (d >= go_graph_first_obj(g) && c.o->type[go_graph_id(g, d)] == ty))
				continue;
			per_type[ty].bytes += g->retained[v];
			per_type[ty].count += g->retained_count[v];
			per_type[ty].node = v;
			per_type[ty].type = ty;
		}
		for (size_t ty = 0; ty < c.o->notypes; ty++)
			top_add(&top, per_type[ty]);
		free(per_type);
	}
	struct retainer *rows = top.rows;
	size_t nrows = top.n;
	qsort(rows, nrows, sizeof(*rows), retainer_cmp);
	memdbg_begin_array(p, "retainers", NULL);
	if (!memdbg_printer_json(p))
		memdbg_note(p, "%14s %10s  %-18s %-36s %s", "retained_bytes", "objects", mode == 2 ? "kind" : "addr",
			    mode == 2 ? "root" : "type", mode == 2 ? "" : "root");
	for (size_t i = 0; i < nrows && i < n && rows[i].bytes; i++) {
		const struct retainer *r = &rows[i];
		if (memdbg_printer_json(p))
			memdbg_begin_object(p, NULL, NULL);
		if (mode == 2) {
			const struct go_root *root = &c.o->roots[g->root_index[r->node]];
			if (memdbg_printer_json(p)) {
				print_root_ref(&c, p, r->node, NULL, 0);
			} else {
				memdbg_note(p, "%14" PRIu64 " %10" PRIu64 "  %-18s %s", r->bytes, r->count,
					    kind_names[root->kind], root->name);
			}
		} else {
			uint64_t id = go_graph_id(g, r->node);
			const char *type = mode == 1 ? c.o->otypes[r->type].name : go_objtype_name(c.o, id);
			uint32_t rnode = dominating_root(g, r->node);
			const char *rname = rnode ? c.o->roots[g->root_index[rnode]].name : "(several roots)";
			if (memdbg_printer_json(p)) {
				if (mode == 0)
					memdbg_field_hex(p, "addr", obj_base(&c, id));
				if (type)
					memdbg_field_str(p, "type", type);
				else
					memdbg_field_null(p, "type");
				print_root_ref(&c, p, rnode, NULL, 0);
			} else {
				char at[32] = "";
				if (mode == 0)
					snprintf(at, sizeof(at), "0x%" PRIx64, obj_base(&c, id));
				memdbg_note(p, "%14" PRIu64 " %10" PRIu64 "  %-18s %-36s %s", r->bytes, r->count, at,
					    type ? type : "(unknown type)", rname);
			}
		}
		if (memdbg_printer_json(p)) {
			memdbg_field_u64(p, "retained_bytes", r->bytes);
			memdbg_field_u64(p, "retained_objects", r->count);
			memdbg_end_object(p);
		}
	}
	memdbg_end_array(p);
	free(rows);
	memdbg_begin_object(p, "index", "Index");
	memdbg_field_u64(p, "nodes", g->nnodes);
	memdbg_field_u64(p, "edges", g->edges);
	memdbg_field_u64(p, "roots", g->nroots);
	memdbg_end_object(p);
	if (pprof)
		memdbg_note(p, "wrote %s (go tool pprof -http=: %s)", pprof, pprof);
	return NULL;
}

/* ---- pprof ---- */

struct pb {
	uint8_t *buf;
	size_t len, cap;
	bool oom;
};

static void pb_bytes(struct pb *b, const void *data, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *nb = realloc(b->buf, cap);
		if (!nb) {
			b->oom = true;
			return;
		}
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
}

static void pb_varint(struct pb *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;
	do {
		tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	pb_bytes(b, tmp, n);
}

static void pb_uint(struct pb *b, unsigned field, uint64_t v)
{
	pb_varint(b, (uint64_t)field << 3);
	pb_varint(b, v);
}

/* A length-delimited field whose body is `sub`. */
static void pb_sub(struct pb *b, unsigned field, struct pb *sub)
{
	pb_varint(b, (uint64_t)field << 3 | 2);
	pb_varint(b, sub->len);
	pb_bytes(b, sub->buf, sub->len);
	b->oom |= sub->oom;
	sub->len = 0;
}

static void pb_string(struct pb *b, unsigned field, const char *s)
{
	size_t n = strlen(s);
	pb_varint(b, (uint64_t)field << 3 | 2);
	pb_varint(b, n);
	pb_bytes(b, s, n);
}

/*
 * Stacks are dominator chains by type, root at the bottom: each object adds
 * its own bytes to the chain "root; T1; T2; ...; its type", with runs of one
 * type (linked lists) folded into one frame.  A flame graph of it shows
 * retained bytes by retention path.
 */
struct frame_node {
	uint32_t parent, name;  /* name: string table index */
	uint64_t objects, bytes;
};

/* Append s to the profile's string table; its index, or 0 when out of memory. */
static uint32_t add_string(const char ***strs, size_t *n, size_t *cap, const char *s)
{
	if (*n == *cap) {
		const char **ns = realloc(*strs, 2 * *cap * sizeof(*ns));
		if (!ns)
			return 0;
		*strs = ns;
		*cap *= 2;
	}
	(*strs)[*n] = s;
	return (uint32_t)(*n)++;
}

static struct memdbg_error *write_pprof(struct ctx *c, const char *path)
{
	const struct go_graph *g = c->g;
	struct memdbg_error *err = NULL;
	/* String table: "" first; then type and root names, interned through the object types' indices. */
	size_t nstr = 0, str_cap = 64;
	const char **strs = malloc(str_cap * sizeof(*strs));
	uint32_t *frame_of = malloc((size_t)g->nnodes * sizeof(*frame_of));  /* node -> frame node */
	uint32_t *type_str = calloc(c->o->notypes + 1, sizeof(*type_str));
	struct frame_node *frames = NULL;
	size_t nframes = 0, frames_cap = 0;
	uint32_t *stack = malloc((size_t)g->nnodes * sizeof(*stack));
	struct pb out = { 0 }, sub = { 0 }, sub2 = { 0 };
	if (!strs || !frame_of || !type_str || !stack) {
		err = memdbg_enomem;
		goto out;
	}
	strs[nstr++] = "";
	strs[nstr++] = "inuse_objects";
	strs[nstr++] = "count";
	strs[nstr++] = "inuse_space";
	strs[nstr++] = "bytes";
	strs[nstr++] = "(unknown type)";
	strs[nstr++] = "(several roots)";
	memset(frame_of, 0xff, (size_t)g->nnodes * sizeof(*frame_of));
	/* frame node 0 is the super-root; its own frames are never emitted. */
	frames_cap = 1024;
	frames = malloc(frames_cap * sizeof(*frames));
	if (!frames) {
		err = memdbg_enomem;
		goto out;
	}
	frames[nframes++] = (struct frame_node){ UINT32_MAX, 6, 0, 0 };
	frame_of[0] = 0;
	for (uint32_t v = 1; v < g->nnodes; v++) {
		if (g->idom[v] == UINT32_MAX || frame_of[v] != UINT32_MAX)
			continue;
		/* Walk up to a node with a frame, then give frames on the way down. */
		size_t sp = 0;
		for (uint32_t u = v; frame_of[u] == UINT32_MAX && sp < g->nnodes; u = g->idom[u])
			stack[sp++] = u;
		while (sp) {
			uint32_t u = stack[--sp], pf = frame_of[g->idom[u]];
			uint32_t name;
			if (u < go_graph_first_obj(g)) {
				if (!(name = add_string(&strs, &nstr, &str_cap, c->o->roots[g->root_index[u]].name))) {
					err = memdbg_enomem;
					goto out;
				}
			} else {
				uint32_t ty = c->o->type[go_graph_id(g, u)];
				if (ty && !type_str[ty] &&
				    !(type_str[ty] = add_string(&strs, &nstr, &str_cap, c->o->otypes[ty].name))) {
					err = memdbg_enomem;
					goto out;
				}
				name = ty ? type_str[ty] : 5;
			}
			/* Fold a run of one type into one frame. */
			if (pf && frames[pf].name == name && u >= go_graph_first_obj(g)) {
				frame_of[u] = pf;
			} else {
				if (nframes == frames_cap) {
					frames_cap *= 2;
					struct frame_node *nf = realloc(frames, frames_cap * sizeof(*nf));
					if (!nf) {
						err = memdbg_enomem;
						goto out;
					}
					frames = nf;
				}
				frames[nframes] = (struct frame_node){ pf, name, 0, 0 };
				frame_of[u] = (uint32_t)nframes++;
			}
			if (u >= go_graph_first_obj(g)) {
				frames[frame_of[u]].objects++;
				frames[frame_of[u]].bytes += go_span_of_id(c->o, go_graph_id(g, u))->elemsize;
			}
		}
	}
	/* Profile: sample types, one sample per frame with bytes, a location and function per frame. */
	pb_uint(&sub, 1, 1);
	pb_uint(&sub, 2, 2);
	pb_sub(&out, 1, &sub);
	pb_uint(&sub, 1, 3);
	pb_uint(&sub, 2, 4);
	pb_sub(&out, 1, &sub);
	for (size_t f = 1; f < nframes; f++) {
		if (!frames[f].objects)
			continue;
		for (uint32_t u = (uint32_t)f; u && u != UINT32_MAX; u = frames[u].parent)
			pb_varint(&sub2, u);
		pb_varint(&sub, 1 << 3 | 2);
		pb_varint(&sub, sub2.len);
		pb_bytes(&sub, sub2.buf, sub2.len);
		sub2.len = 0;
		pb_varint(&sub2, frames[f].objects);
		pb_varint(&sub2, frames[f].bytes);
		pb_varint(&sub, 2 << 3 | 2);
		pb_varint(&sub, sub2.len);
		pb_bytes(&sub, sub2.buf, sub2.len);
		sub2.len = 0;
		pb_sub(&out, 2, &sub);
	}
	for (size_t f = 1; f < nframes; f++) {
		pb_uint(&sub, 1, f);
		pb_uint(&sub2, 1, f);
		pb_sub(&sub, 4, &sub2);
		pb_sub(&out, 4, &sub);
		pb_uint(&sub, 1, f);
		pb_uint(&sub, 2, frames[f].name);
		pb_uint(&sub, 3, frames[f].name);
		pb_sub(&out, 5, &sub);
	}
	for (size_t i = 0; i < nstr; i++)
		pb_string(&out, 6, strs[i]);
	if (out.oom || sub.oom || sub2.oom) {
		err = memdbg_enomem;
		goto out;
	}
	FILE *fp = fopen(path, "wb");
	if (!fp) {
		err = memdbg_error_os("cannot write", path);
		goto out;
	}
	if (fwrite(out.buf, 1, out.len, fp) != out.len) {
		err = memdbg_error_os("cannot write", path);
		fclose(fp);
		goto out;
	}
	if (fclose(fp) != 0)
		err = memdbg_error_os("cannot write", path);
out:
	free(strs);
	free(frame_of);
	free(type_str);
	free(frames);
	free(stack);
	free(out.buf);
	free(sub.buf);
	free(sub2.buf);
	return err;
}

/* ---- table rows ---- */

static const struct memdbg_opt who_holds_opts[] = {
	{ "--paths", "N", "how many paths, each from a different root (default 3)" },
	{ "--max-depth", "D", "give up on paths longer than D objects" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_who_holds = {
	.info = {
		.name = "who-holds",
		.summary = "the shortest paths from the GC roots to the object at an address",
		.usage = "who-holds ADDR [--paths N] [--max-depth D] [--json]",
		.help = "Each path starts at a root (a global, a goroutine's frame variable, a finalizer,\n"
			"a sync.Pool's per-P cache) and lists every object on the way with how the one\n"
			"before points to it: a field path (.conns[3].buf), a map value with its key, a\n"
			"closure variable.  Unreachable objects are garbage awaiting sweep; objects only a\n"
			"weak handle refers to are said to be so.  Interior addresses are fine.",
	},
	.opts = who_holds_opts,
	.max_args = 1,
	.needs_target = true,
	.run = run_who_holds,
};

const struct memdbg_command memdbg_cmd_retained = {
	.info = {
		.name = "retained",
		.summary = "what the GC could free if nothing else pointed to the object, and its dominators",
		.usage = "retained ADDR [--json]",
		.help = "The retained size is the object plus everything only it keeps alive: the\n"
			"subtree of the dominator tree below it.  Dominators are listed nearest first,\n"
			"ending at the root (or '(several roots)' when more than one root reaches it).",
	},
	.max_args = 1,
	.needs_target = true,
	.run = run_retained,
};

static const struct memdbg_opt top_retainers_opts[] = {
	{ "-n", "N", "how many rows (default 20)" },
	{ "--by", "WHAT", "object (default), type, or root" },
	{ "--pprof", "FILE", "also write a pprof profile of retention paths (go tool pprof FILE)" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_top_retainers = {
	.info = {
		.name = "top-retainers",
		.summary = "the largest retained sizes, by object, type or root; pprof output",
		.usage = "top-retainers [-n N] [--by object|type|root] [--pprof FILE] [--json]",
		.help = "--by type sums the retained sizes of a type's outermost objects (those whose\n"
			"immediate dominator is of another type).  The pprof profile's stacks are\n"
			"dominator chains by type from the root down, with object and byte counts.",
	},
	.opts = top_retainers_opts,
	.needs_target = true,
	.run = run_top_retainers,
};
