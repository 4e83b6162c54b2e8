/*
 * findings.c - the findings command: one section per memory misuse, each
 * with its evidence (addresses, types, holders) and the bytes involved.
 *
 * Every section reads what the object graph (objects.h) and the dominator
 * tree (graph.h) already know; a holder is the root at the top of an
 * object's dominator chain and the types on the way down.  Thresholds are
 * options; a clean program must get no findings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/heaps.h"
#include "go/findings.h"
#include "go/leaks.h"
#include "go/pools.h"
#include "go/stack.h"
#include "go/types.h"

#define MAX_ITEMS 20        /* evidence rows printed per section */
#define CHAIN_MAX 64        /* dominator chain hops named in a holder */
#define LEAK_FRAMES 64      /* frames unwound to find where a goroutine waits */
#define LEAK_OBJECTS 5      /* objects listed per goroutine group */
#define LARGE_OBJECT 32768  /* larger objects get their own span */
#define SCAN_CHUNK 65536    /* bytes read at once when scanning memory */
#define MAX_CHUNKS 1000000  /* persistentalloc chunks followed */
#define MAX_MS 100000       /* Ms followed on runtime.allm */

struct range {
	uint64_t lo, hi;
};

/* What the scans need of one object type (o->otypes[k]), computed before they start. */
struct otype_info {
	const struct go_type *ty;           /* the decoded type, NULL when unknown or of size 0 */
	const struct uintptr_words *uw;     /* its uintptr words; NULL: none, or too many to list */
	bool runtime;                       /* the runtime's own type (runtime_type_name) */
};

struct fctx {
	struct memdbg_target *t;
	struct memdbg_go *go;
	struct go_objects *o;
	struct go_graph *g;
	struct memdbg_printer *p;
	struct findings_opts opt;
	uint64_t heap_lo, heap_hi;  /* in-use spans' extent */
	uint64_t *arenas;           /* heap arena indexes, sorted */
	size_t narenas;
	struct range *held;         /* in-use and stack spans, sorted */
	size_t nheld;
	size_t total;               /* findings over all finding sections */
	bool section_finding;       /* the open section's items are findings */
	struct go_map uintptr_types; /* type address -> struct uintptr_words */
	struct otype_info *oti;     /* per object type (o->otypes), filled before the scans */
	size_t noti;
};

/* ---- small helpers ---- */

static uint64_t obj_base(const struct fctx *c, uint64_t id)
{
	return go_id_addr(go_span_of_id(c->o, id), id);
}

/* Where a map header starts in its object (past a malloc header, should one precede it). */
static uint64_t map_header(const struct fctx *c, uint64_t id)
{
	return obj_base(c, id) + (go_span_of_id(c->o, id)->header ? 8 : 0);
}

static uint64_t obj_size(const struct fctx *c, uint64_t id)
{
	return go_span_of_id(c->o, id)->elemsize;
}

static uint64_t read_word(struct memdbg_target *t, uint64_t addr)
{
	uint64_t v = 0;
	struct memdbg_error *e = memdbg_read_u64(t, addr, &v);
	memdbg_error_destroy(e);
	return e ? 0 : v;
}

static const char *type_or(const struct fctx *c, uint64_t id)
{
	const char *type = go_objtype_name(c->o, id);
	return type ? type : "(unknown type)";
}

static const struct go_root *root_of_node(const struct fctx *c, uint32_t rnode)
{
	return &c->o->roots[c->g->root_index[rnode]];
}

/* The root node at the top of v's dominator chain; 0 when several roots share it. */
static uint32_t top_root(const struct go_graph *g, uint32_t v)
{
	for (uint32_t hops = 0; v >= go_graph_first_obj(g) && hops < g->nnodes; hops++)
		v = g->idom[v];
	return v < go_graph_first_obj(g) ? v : 0;
}

/*
 * The holder of object id as "ROOT > T1 > T2 > (the object's type)": the
 * dominating root and the types of the dominator chain down to the object.
 */
static void holder_of(const struct fctx *c, uint64_t id, char *root, size_t rsize, char *path, size_t psize)
{
	const struct go_graph *g = c->g;
	uint32_t v = go_graph_node(g, id);
	uint32_t chain[CHAIN_MAX];
	size_t n = 0, len = 0;
	snprintf(root, rsize, "(unreachable)");
	path[0] = '\0';
	if (!v)
		return;
	uint32_t d = g->idom[v];
	for (uint32_t hops = 0; d >= go_graph_first_obj(g) && d != UINT32_MAX && hops < g->nnodes; hops++) {
		if (n < CHAIN_MAX)
			chain[n++] = d;
		d = g->idom[d];
	}
	snprintf(root, rsize, "%s", d && d < go_graph_first_obj(g) ? root_of_node(c, d)->name : "(several roots)");
	int w = snprintf(path, psize, "%s", root);
	len = w > 0 && (size_t)w < psize ? (size_t)w : psize - 1;
	for (size_t i = n; i > 0 && len < psize - 1; i--) {
		w = snprintf(path + len, psize - len, " > %s", type_or(c, go_graph_id(g, chain[i - 1])));
		len = w > 0 && (size_t)w < psize - len ? len + (size_t)w : psize - 1;
	}
	if (len < psize - 1)
		snprintf(path + len, psize - len, " > %s", type_or(c, id));
}

static void print_holder(const struct fctx *c, uint64_t id)
{
	char root[256], path[1024];
	holder_of(c, id, root, sizeof(root), path, sizeof(path));
	memdbg_field_str(c->p, "holder", root);
	memdbg_field_str(c->p, "path", path);
}

static uint64_t retained_of(const struct fctx *c, uint64_t id)
{
	uint32_t v = go_graph_node(c->g, id);
	return v ? c->g->retained[v] : 0;
}

/* The name of the field at byte off of object id (".buf", "[3].p"), or "+off". */
static void field_at(const struct fctx *c, uint64_t id, uint64_t off, char *buf, size_t size)
{
	uint32_t k = c->o->type[id];
	const struct go_objtype *ot = k ? &c->o->otypes[k] : NULL;
	const struct go_type *ty = ot && ot->type ? go_type_at(c->t, c->go, ot->type, NULL) : NULL;
	size_t len = 0;
	buf[0] = '\0';
	if (go_span_of_id(c->o, id)->header) {
		if (off < 8) {
			snprintf(buf, size, "malloc header");
			return;
		}
		off -= 8;
	}
	for (int depth = 0; ty && ty->size && depth < 8 && len < size - 1; depth++) {
		int w = 0;
		if (depth == 0 && ot->count) {
			w = snprintf(buf + len, size - len, "[%" PRIu64 "]", off / ty->size);
			off %= ty->size;
		} else if (ty->kind == GO_KIND_ARRAY) {
			const struct go_type *elem = go_type_at(c->t, c->go, ty->elem, NULL);
			if (!elem || !elem->size)
				break;
			w = snprintf(buf + len, size - len, "[%" PRIu64 "]", off / elem->size);
			off %= elem->size;
			ty = elem;
		} else if (ty->kind == GO_KIND_STRUCT) {
			const struct go_type *next = NULL;
			for (size_t i = 0; i < ty->nfields; i++) {
				const struct go_field *f = &ty->fields[i];
				const struct go_type *ft = go_type_at(c->t, c->go, f->type, NULL);
				if (ft && off >= f->offset && off < f->offset + ft->size) {
					w = snprintf(buf + len, size - len, ".%s", f->name ? f->name : "?");
					off -= f->offset;
					next = ft;
					break;
				}
			}
			ty = next;
		} else {
			break;
		}
		if (w > 0)
			len = (size_t)w < size - len ? len + (size_t)w : size - 1;
	}
	if (!len)
		snprintf(buf, size, "+%" PRIu64, off);
}

/*
 * A section is either findings (misuses a user can act on, counted in
 * total_findings) or observations (what a healthy program may well have:
 * groups of waiting goroutines, big maps, large objects, pool contents,
 * fragmentation), shown with the same evidence but not counted.
 */
static void begin_section(struct fctx *c, const char *id, const char *title, bool finding, const char *what)
{
	memdbg_begin_object(c->p, NULL, title);
	memdbg_field_str(c->p, "id", id);
	memdbg_field_str(c->p, "title", title);
	memdbg_field_str(c->p, "kind", finding ? "finding" : "observation");
	memdbg_field_str(c->p, "what", what);
	c->section_finding = finding;
}

/* Closes a section with its totals; items (an array) are already printed. */
static void end_section(struct fctx *c, uint64_t count, uint64_t bytes)
{
	memdbg_field_u64(c->p, "count", count);
	memdbg_field_u64(c->p, "bytes", bytes);
	if (!count)
		memdbg_note(c->p, "    none");
	memdbg_end_object(c->p);
	if (c->section_finding)
		c->total += count;
}

/* A string element of an array (text mode has no keys for those). */
static void str_item(struct memdbg_printer *p, const char *v)
{
	memdbg_field_str(p, memdbg_printer_json(p) ? NULL : "", v);
}

/* ---- 1. goroutine leaks and groups ---- */

static bool runtime_func(const char *name)
{
	return strncmp(name, "runtime.", 8) == 0 || strncmp(name, "internal/", 9) == 0 ||
	       strncmp(name, "runtime/internal/", 17) == 0 || strncmp(name, "sync.", 5) == 0;
}

#define SITE_FRAMES 3  /* frames from the wait site up, shown per group */
#define SITE_INLINE 16

struct wait_site {
	struct go_stack *s;
	uint64_t pc;
	const char *func, *file;
	int32_t line;
	const char *frames[SITE_FRAMES];  /* the site's function and its callers */
	size_t nframes;
};

/* The first logical frame (inlined calls expanded) outside the runtime and sync, and those above it. */
static bool find_site(void *arg, const struct go_frame *f)
{
	struct wait_site *w = arg;
	struct go_inline in[SITE_INLINE];
	size_t n = go_func_inlined(w->s, f->fn, f->sym_pc, in, SITE_INLINE);
	for (size_t i = 0; i < n && w->nframes < SITE_FRAMES; i++) {
		if (!w->nframes && runtime_func(in[i].name))
			continue;
		if (!w->nframes) {
			w->pc = f->pc;
			w->func = in[i].name;
			w->file = in[i].file;
			w->line = in[i].line;
		}
		w->frames[w->nframes++] = in[i].name;
	}
	return w->nframes < SITE_FRAMES;
}

struct leak_group {
	uint64_t key, count, stack_bytes, retained, objects;
	const struct go_wait *first;
	struct wait_site site;
	uint64_t goids[8];
	uint32_t top[LEAK_OBJECTS];  /* nodes directly held by the group's frames, largest first */
	size_t ntop;
};

static void leak_add_top(const struct fctx *c, struct leak_group *lg, uint32_t v)
{
	const uint64_t *r = c->g->retained;
	size_t i = lg->ntop < LEAK_OBJECTS ? lg->ntop++ : LEAK_OBJECTS;
	if (i == LEAK_OBJECTS && r[v] <= r[lg->top[LEAK_OBJECTS - 1]])
		return;
	if (i == LEAK_OBJECTS)
		i--;
	for (; i > 0 && r[lg->top[i - 1]] < r[v]; i--)
		lg->top[i] = lg->top[i - 1];
	lg->top[i] = v;
}

static int leak_cmp(const void *a, const void *b)
{
	const struct leak_group *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* Group the waiting goroutines that leaked (or, !leaked, those that did not) by where they wait. */
static struct memdbg_error *wait_groups(struct fctx *c, struct go_stack *s, const struct go_wait *w, size_t nw,
					bool leaked, struct go_map *by_goid, struct leak_group **ret, size_t *nret)
{
	struct memdbg_error *err = NULL;
	size_t n = 0;
	struct go_map by_key = { 0 };
	struct leak_group *groups = calloc(nw ? nw : 1, sizeof(*groups));
	if (!groups)
		return memdbg_enomem;
	for (size_t i = 0; i < nw; i++) {
		const struct go_goroutine *gr = w[i].g;
		if (gr->system || gr->dead || !gr->wait_reason_name || !gr->goid || w[i].leaked != leaked)
			continue;
		if ((i & 255) == 0 && (err = memdbg_check_interrupt(c->p)))
			break;
		struct wait_site site = { s, 0, "?", "?", 0, { NULL }, 0 };
		enum go_unwind_end end;
		struct memdbg_error *e = go_unwind(s, gr, LEAK_FRAMES, find_site, &site, &end);
		memdbg_error_destroy(e);
		if (!site.pc)
			continue;
		/* The same wait, reached by goroutines started by the same go statement. */
		uint64_t key = (site.pc ^ gr->startpc * 0x9e3779b97f4a7c15ull) + gr->wait_reason;
		key = key ? key : 1;
		uintptr_t gi = (uintptr_t)go_map_get(&by_key, key);
		if (!gi) {
			groups[n] = (struct leak_group){ .key = key, .first = &w[i], .site = site };
			gi = ++n;
			if (!go_map_put(&by_key, key, (void *)gi)) {
				err = memdbg_enomem;
				break;
			}
		}
		struct leak_group *lg = &groups[gi - 1];
		if (lg->count < MEMDBG_ARRAY_SIZE(lg->goids))
			lg->goids[lg->count] = gr->goid;
		lg->count++;
		lg->stack_bytes += gr->stack_hi > gr->stack_lo ? gr->stack_hi - gr->stack_lo : 0;
		if (!go_map_put(by_goid, gr->goid, (void *)gi)) {
			err = memdbg_enomem;
			break;
		}
	}
	go_map_free(&by_key);
	if (err) {
		free(groups);
		return err;
	}
	*ret = groups;
	*nret = n;
	return NULL;
}

/* Add what each group's frames alone keep alive: roots "goroutine N frame ...". */
static void leak_retained(struct fctx *c, struct go_map *by_goid, struct leak_group *groups)
{
	const struct go_graph *g = c->g;
	uint32_t first = go_graph_first_obj(g);
	uint32_t *root_group = calloc(first, sizeof(*root_group));
	if (!root_group)
		return;
	for (uint32_t r = 1; r < first; r++) {
		const struct go_root *root = root_of_node(c, r);
		unsigned long long goid;
		if (root->kind != GO_ROOT_STACK || sscanf(root->name, "goroutine %llu", &goid) != 1 || !goid)
			continue;
		uintptr_t gi = (uintptr_t)go_map_get(by_goid, goid);
		if (!gi)
			continue;
		root_group[r] = (uint32_t)gi;
		groups[gi - 1].retained += g->retained[r];
		groups[gi - 1].objects += g->retained_count[r];
	}
	for (uint32_t v = first; v < g->nnodes; v++) {
		uint32_t d = g->idom[v];
		if (d && d < first && root_group[d])
			leak_add_top(c, &groups[root_group[d] - 1], v);
	}
	free(root_group);
}

#define HELD_BY_MAX 5

/*
 * What points to a blocking object, from the reverse index: root names and
 * object types; the waiters' own wait records (sudogs) are only counted.
 */
static void print_held_by(const struct fctx *c, uint64_t id)
{
	const struct go_graph *g = c->g;
	uint32_t v = go_graph_node(g, id), shown = 0;
	uint64_t records = 0;
	memdbg_begin_array(c->p, "held_by", "held by");
	for (uint32_t e = v ? g->rev_off[v] : 0; v && e < g->rev_off[v + 1]; e++) {
		uint32_t u = g->rev[e];
		char what[320];
		if (u < go_graph_first_obj(g)) {
			snprintf(what, sizeof(what), "%s", root_of_node(c, u)->name);
		} else if (strcmp(type_or(c, go_graph_id(g, u)), "runtime.sudog") == 0) {
			records++;
			continue;
		} else {
			snprintf(what, sizeof(what), "0x%" PRIx64 " %s", obj_base(c, go_graph_id(g, u)), type_or(c, go_graph_id(g, u)));
		}
		if (shown++ < HELD_BY_MAX)
			str_item(c->p, what);
	}
	memdbg_end_array(c->p);
	memdbg_field_u64(c->p, "wait_records", records);
}

/* The group's first goroutine's blocking objects: the evidence that nothing else reaches them. */
static void print_blockers(const struct fctx *c, const struct go_wait *w)
{
	memdbg_begin_array(c->p, "blocked_on", "blocked on");
	for (size_t k = 0; k < w->non && k < MAX_ITEMS; k++) {
		const struct go_blocker *b = &w->on[k];
		char title[320];
		bool heap = b->object != UINT64_MAX;
		snprintf(title, sizeof(title), "0x%" PRIx64 " in %s", b->addr,
			 heap ? type_or(c, b->object) : "(not a heap object)");
		memdbg_begin_object(c->p, NULL, title);
		memdbg_field_hex(c->p, "addr", b->addr);
		if (heap) {
			memdbg_field_hex(c->p, "object", obj_base(c, b->object));
			memdbg_field_str(c->p, "type", type_or(c, b->object));
			print_held_by(c, b->object);
		} else {
			memdbg_field_null(c->p, "object");
		}
		memdbg_end_object(c->p);
	}
	memdbg_end_array(c->p);
}

static void print_group(struct fctx *c, struct go_stack *s, const struct leak_group *lg, bool leak)
{
	struct memdbg_printer *p = c->p;
	const struct go_goroutine *g0 = lg->first->g;
	char title[512];
	snprintf(title, sizeof(title), "%" PRIu64 " goroutine%s %s (%s) at %s (%s:%d)", lg->count,
		 lg->count == 1 ? "" : "s", leak ? "blocked for good" : "waiting", g0->wait_reason_name, lg->site.func,
		 lg->site.file, lg->site.line);
	memdbg_begin_object(p, NULL, title);
	memdbg_field_u64(p, "goroutines", lg->count);
	memdbg_field_str(p, "wait_reason", g0->wait_reason_name);
	memdbg_field_str(p, "function", lg->site.func);
	char loc[320];
	snprintf(loc, sizeof(loc), "%s:%d", lg->site.file, lg->site.line);
	memdbg_field_str(p, "location", loc);
	const struct go_func *f = g0->gopc ? go_func_at(s, g0->gopc) : NULL;
	memdbg_field_str(p, "created_by", f ? f->name : "?");
	size_t nid = lg->count < MEMDBG_ARRAY_SIZE(lg->goids) ? lg->count : MEMDBG_ARRAY_SIZE(lg->goids);
	char ids[160];
	size_t len = 0;
	ids[0] = '\0';
	for (size_t i = 0; i < nid && len < sizeof(ids) - 1; i++) {
		int w = snprintf(ids + len, sizeof(ids) - len, "%s%" PRIu64, i ? " " : "", lg->goids[i]);
		len = w > 0 && (size_t)w < sizeof(ids) - len ? len + (size_t)w : sizeof(ids) - 1;
	}
	memdbg_field_str(p, "first_goids", ids);
	memdbg_begin_array(p, "frames", "frames, from the wait site up");
	for (size_t i = 0; i < lg->site.nframes; i++)
		str_item(p, lg->site.frames[i]);
	memdbg_end_array(p);
	memdbg_field_u64(p, "stack_bytes", lg->stack_bytes);
	memdbg_field_u64(p, "retained_bytes", lg->retained);
	memdbg_field_u64(p, "retained_objects", lg->objects);
	if (leak)
		print_blockers(c, lg->first);
	memdbg_begin_array(p, "objects", "kept alive by their frames (largest first)");
	for (size_t i = 0; i < lg->ntop; i++) {
		uint64_t id = go_graph_id(c->g, lg->top[i]);
		char t2[256];
		snprintf(t2, sizeof(t2), "0x%" PRIx64 " %s, retains %" PRIu64 " B", obj_base(c, id), type_or(c, id),
			 c->g->retained[lg->top[i]]);
		memdbg_begin_object(p, NULL, t2);
		memdbg_field_hex(p, "addr", obj_base(c, id));
		memdbg_field_str(p, "type", type_or(c, id));
		memdbg_field_u64(p, "retained_bytes", c->g->retained[lg->top[i]]);
		print_holder(c, id);
		memdbg_end_object(p);
	}
	memdbg_end_array(p);
	memdbg_end_object(p);
}

/*
 * One section of wait groups: leaks (every group) or groups (those of at
 * least min_goroutines).  unavailable: why the goroutines could not be read,
 * said in the section.  Returns only an interruption or a lack of memory.
 */
static struct memdbg_error *wait_section(struct fctx *c, struct go_stack *s, const struct go_wait *w, size_t nw,
					 bool leak, const struct memdbg_error *unavailable)
{
	struct go_map by_goid = { 0 };
	struct leak_group *groups = NULL;
	size_t n = 0;
	uint64_t count = 0, bytes = 0;
	struct memdbg_error *err = unavailable ? NULL : wait_groups(c, s, w, nw, leak, &by_goid, &groups, &n);
	if (err)
		return err;
	if (leak)
		begin_section(c, "goroutine-leaks", "Goroutine leaks", true,
			      "goroutines blocked on a channel, mutex, WaitGroup or cond that no goroutine able to run "
			      "and no global can reach: nothing can ever wake them");
	else
		begin_section(c, "goroutine-groups", "Goroutine groups", false,
			      "many goroutines waiting at the same place, not leaked (something can still wake them): "
			      "their stacks and what their frames keep alive");
	if (!leak)
		memdbg_field_u64(c->p, "min_goroutines", c->opt.min_goroutines);
	memdbg_begin_array(c->p, "items", NULL);
	if (unavailable)
		memdbg_note(c->p, "    goroutines unavailable: %s", memdbg_error_message(unavailable));
	leak_retained(c, &by_goid, groups);
	if (n)
		qsort(groups, n, sizeof(*groups), leak_cmp);
	for (size_t i = 0; i < n && (leak || groups[i].count >= c->opt.min_goroutines); i++) {
		if (i < MAX_ITEMS)
			print_group(c, s, &groups[i], leak);
		count++;
		bytes += groups[i].stack_bytes + groups[i].retained;
	}
	memdbg_end_array(c->p);
	end_section(c, count, bytes);
	free(groups);
	go_map_free(&by_goid);
	return NULL;
}

static struct memdbg_error *section_goroutines(struct fctx *c)
{
	struct go_stack *s = NULL;
	struct go_wait *w = NULL;
	size_t nw = 0;
	struct memdbg_error *unavailable = go_stack_open(c->t, &s), *err = NULL;
	if (!unavailable)
		unavailable = go_leaks(c->t, c->go, c->o, c->g, s, c->p, &w, &nw);
	if (unavailable == memdbg_interrupted || unavailable == memdbg_enomem)
		err = unavailable;
	else if (!(err = wait_section(c, s, w, nw, true, unavailable)))
		err = wait_section(c, s, w, nw, false, unavailable);
	if (unavailable != err)
		memdbg_error_destroy(unavailable);
	go_leaks_free(w, nw);
	go_stack_close(s);
	return err;
}

/* ---- 2. maps ---- */

struct map_row {
	uint64_t id, entries, bytes;
};

static int map_cmp(const void *a, const void *b)
{
	const struct map_row *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* What the maps section reads of a map header: swiss maps.Map (go1.24+) or runtime.hmap. */
struct map_fields {
	const char *tname;       /* the header's object type */
	uint64_t used, used_size; /* the entry count: Map.used, hmap.count */
	bool swiss, has_groups;
	uint64_t groups;          /* Map.dirPtr (a group, or a directory of tables), hmap.buckets */
	uint64_t dirlen, table_groups; /* Map.dirLen, table.groups.data */
};

static bool map_fields(struct fctx *c, struct map_fields *f)
{
	static const char *const smap = "internal/runtime/maps.Map";
	struct memdbg_dwarf *d = c->t->dwarf;
	if (d && memdbg_dwarf_member(d, smap, "used", &f->used, &f->used_size)) {
		f->tname = "maps.Map";
		f->swiss = true;
		f->has_groups = memdbg_dwarf_member(d, smap, "dirPtr", &f->groups, NULL) &&
				memdbg_dwarf_member(d, smap, "dirLen", &f->dirlen, NULL) &&
				memdbg_dwarf_member(d, "internal/runtime/maps.table", "groups.data", &f->table_groups, NULL);
		return true;
	}
	if (d && memdbg_dwarf_member(d, "runtime.hmap", "count", &f->used, &f->used_size)) {
		f->tname = "runtime.hmap";
		f->has_groups = memdbg_dwarf_member(d, "runtime.hmap", "buckets", &f->groups, NULL);
		return true;
	}
	return false;
}

/*
 * The map's Go type, from the type of the object holding its groups (the
 * first table's, in a big swiss map) or buckets, which the runtime names
 * map.group[K]V or map.bucket[K]V: the header itself is only maps.Map.
 */
static bool map_type_name(const struct fctx *c, const struct map_fields *f, uint64_t hdr, char *buf, size_t len)
{
	static const char *const kinds[] = { "map.group[", "map.bucket[" };
	uint64_t groups = read_word(c->t, hdr + f->groups), gid;
	if (f->swiss && read_word(c->t, hdr + f->dirlen))
		groups = read_word(c->t, read_word(c->t, groups) + f->table_groups);
	const char *name = f->has_groups && go_object_at(c->o, groups, &gid) ? go_objtype_name(c->o, gid) : NULL;
	if (name && name[0] == '[' && (name = strchr(name, ']')))  /* an array of groups: [N]map.group[K]V */
		name++;
	for (size_t i = 0; name && i < MEMDBG_ARRAY_SIZE(kinds); i++) {
		size_t k = strlen(kinds[i]) - 1, n = strlen(name);
		if (strncmp(name, kinds[i], k + 1) != 0)
			continue;
		if (n > 9 && strcmp(name + n - 9, " (noscan)") == 0)
			n -= 9;
		snprintf(buf, len, "map%.*s", (int)(n - k), name + k);
		return true;
	}
	return false;
}

static struct memdbg_error *section_maps(struct fctx *c)
{
	struct map_fields f = { 0 };
	struct map_row *rows = NULL;
	size_t n = 0, cap = 0;
	uint64_t bytes = 0;
	bool known = map_fields(c, &f);
	/* The object types named tname (compared once per type, not per object). */
	uint8_t *is_map = known ? calloc(c->o->notypes ? c->o->notypes : 1, 1) : NULL;
	if (known && !is_map)
		return memdbg_enomem;
	bool any = false;
	for (size_t k = 1; known && k < c->o->notypes; k++)
		any |= is_map[k] = c->o->otypes[k].name && strcmp(c->o->otypes[k].name, f.tname) == 0;
	struct go_graph_cursor cur = go_graph_cursor_at(c->g, go_graph_first_obj(c->g));
	for (uint32_t v = go_graph_first_obj(c->g); any && v < c->g->nnodes; v++) {
		uint64_t id = go_graph_cursor_next(c->g, &cur), entries = 0;
		uint32_t k = c->o->type[id];
		if (k >= c->o->notypes || !is_map[k])
			continue;
		uint64_t at = map_header(c, id) + f.used;
		struct memdbg_error *e = memdbg_read(c->t, at, &entries, f.used_size <= 8 ? f.used_size : 8);
		if (e) {
			memdbg_error_destroy(e);
			continue;
		}
		if (entries < c->opt.min_entries || entries > (1ull << 48))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct map_row *nr = realloc(rows, cap * sizeof(*nr));
			if (!nr) {
				free(rows);
				free(is_map);
				return memdbg_enomem;
			}
			rows = nr;
		}
		rows[n++] = (struct map_row){ id, entries, c->g->retained[v] };
		bytes += c->g->retained[v];
	}
	free(is_map);
	if (n)
		qsort(rows, n, sizeof(*rows), map_cmp);
	begin_section(c, "maps", "Large long-lived maps", false,
		      "maps with many entries (largest retained bytes first) and who holds them");
	memdbg_field_u64(c->p, "min_entries", c->opt.min_entries);
	memdbg_begin_array(c->p, "items", NULL);
	for (size_t i = 0; i < n && i < MAX_ITEMS; i++) {
		char title[512], mtype[256];
		bool named = map_type_name(c, &f, map_header(c, rows[i].id), mtype, sizeof(mtype));
		snprintf(title, sizeof(title), "map 0x%" PRIx64 ": %s%s%" PRIu64 " entries, retains %" PRIu64 " B",
			 obj_base(c, rows[i].id), named ? mtype : "", named ? ", " : "", rows[i].entries, rows[i].bytes);
		memdbg_begin_object(c->p, NULL, title);
		memdbg_field_hex(c->p, "addr", obj_base(c, rows[i].id));
		memdbg_field_str(c->p, "type", type_or(c, rows[i].id));
		if (named)
			memdbg_field_str(c->p, "map_type", mtype);
		else
			memdbg_field_null(c->p, "map_type");
		memdbg_field_u64(c->p, "entries", rows[i].entries);
		memdbg_field_u64(c->p, "retained_bytes", rows[i].bytes);
		print_holder(c, rows[i].id);
		memdbg_end_object(c->p);
	}
	memdbg_end_array(c->p);
	if (!known)
		memdbg_note(c->p, "    no map header layout in this binary's DWARF");
	end_section(c, n, bytes);
	free(rows);
	return NULL;
}

/* ---- 3. sync.Pool residue ---- */

static struct memdbg_error *section_pools(struct fctx *c)
{
	const struct go_graph *g = c->g;
	uint64_t count = 0, bytes = 0;
	begin_section(c, "pool-residue", "sync.Pool residue", false,
		      "bytes only sync.Pool caches keep alive (per P and victim: see pool-residue)");
	memdbg_field_u64(c->p, "min_pool_bytes", c->opt.min_pool_bytes);
	memdbg_begin_array(c->p, "items", NULL);
	for (uint32_t r = 1; r < go_graph_first_obj(g); r++) {
		const struct go_root *root = root_of_node(c, r);
		if (root->kind != GO_ROOT_GLOBAL || !root->global_type || strcmp(root->global_type, "sync.Pool") != 0 ||
		    g->retained[r] < c->opt.min_pool_bytes)
			continue;
		char title[320];
		snprintf(title, sizeof(title), "%s: %" PRIu64 " B in %" PRIu64 " objects", root->name, g->retained[r],
			 (uint64_t)g->retained_count[r]);
		memdbg_begin_object(c->p, NULL, title);
		memdbg_field_str(c->p, "pool", root->name);
		memdbg_field_hex(c->p, "addr", root->global_base);
		memdbg_field_u64(c->p, "retained_bytes", g->retained[r]);
		memdbg_field_u64(c->p, "retained_objects", g->retained_count[r]);
		memdbg_end_object(c->p);
		count++;
		bytes += g->retained[r];
	}
	memdbg_end_array(c->p);
	end_section(c, count, bytes);
	return NULL;
}

/* ---- 4. GC-invisible references and 5. dangling pointers: one pass over live objects ---- */

enum ref_kind { REF_HIDDEN, REF_DANGLING };

struct ref {
	uint64_t holder;     /* object id, or UINT64_MAX for a global */
	const char *global;  /* the global's name */
	uint64_t at, value;  /* where the word is and what it holds */
	uint64_t target;     /* object id the value is the base of (hidden, dangling into a slot) */
	bool target_free;    /* a free slot (or freed span: target is UINT64_MAX) */
};

struct refs {
	struct ref *v;
	size_t n, cap;
	uint64_t bytes;
};

static bool refs_add(struct refs *r, const struct ref *x)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct ref *nv = realloc(r->v, cap * sizeof(*nv));
		if (!nv)
			return false;
		r->v = nv;
		r->cap = cap;
	}
	r->v[r->n++] = *x;
	return true;
}

/* Is value the address of a heap object as a program holds it (its base, after a malloc header)? */
static bool object_base_value(const struct fctx *c, uint64_t value, uint64_t *id)
{
	const struct go_heap_span *h;
	uint64_t slot;
	if (value < c->heap_lo || value >= c->heap_hi || !go_find_object(c->o, value, &h, &slot))
		return false;
	uint64_t base = h->start + slot * h->elemsize;
	if (value != base && !(h->header && value == base + 8))
		return false;
	*id = h->first + slot;
	return true;
}

static bool weak_referent(const struct fctx *c, uint64_t value)
{
	for (size_t i = 0; i < c->o->nweak; i++)
		if (c->o->weak_referents[i] == value)
			return true;
	return false;
}

/*
 * Freed memory: heap arena pages that no in-use span or stack span holds.
 * (A freed span's mspan record may already be recycled for another span.)
 */
static bool in_freed_span(const struct fctx *c, uint64_t value)
{
	if (go_arena_find(c->go, c->arenas, c->narenas, value) == c->narenas)
		return false;
	size_t lo = 0, hi = c->nheld;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->held[mid].lo <= value)
			lo = mid + 1;
		else
			hi = mid;
	}
	return !lo || value >= c->held[lo - 1].hi;
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The heap arenas, and the spans in them that are in use or stacks: the rest is freed memory. */
static struct memdbg_error *load_held(struct fctx *c)
{
	const struct memdbg_go *go = c->go;
	struct memdbg_error *err = go_heap_arenas(c->t, c->go, &c->arenas, &c->narenas);
	if (err)
		return err;
	if (!(c->held = malloc((go->nspans ? go->nspans : 1) * sizeof(*c->held))))
		return memdbg_enomem;
	for (size_t i = 0; i < go->nspans; i++) {
		const struct go_span *s = &go->spans[i];
		if (s->state == go->l.span_in_use || s->state == go->l.span_manual)
			c->held[c->nheld++] = (struct range){ s->start, s->start + s->npages * go->l.page_size };
	}
	qsort(c->held, c->nheld, sizeof(*c->held), range_cmp);
	return NULL;
}

struct scan_obj {
	const struct fctx *c;
	uint64_t id, base;
	struct refs *dangling;
	bool oom;
};

static void note_pointer(void *arg, uint64_t slot, uint64_t value)
{
	struct scan_obj *so = arg;
	const struct fctx *c = so->c;
	if (!value)
		return;
	const struct go_heap_span *h;
	uint64_t s;
	struct ref r = { .holder = so->id, .at = slot, .value = value, .target = UINT64_MAX };
	if (value >= c->heap_lo && value < c->heap_hi && go_find_object(c->o, value, &h, &s)) {
		if (go_bit(c->o->alloc, h->first + s))
			return;
		r.target = h->first + s;
		r.target_free = true;
	} else if (in_freed_span(c, value)) {
		r.target_free = true;
	} else {
		return;
	}
	if (!refs_add(so->dangling, &r))
		so->oom = true;
}

/*
 * The runtime keeps heap addresses in uintptr words by design (guintptr,
 * muintptr, stack bounds, write barrier buffers, the overflow word of a
 * go1.22-1.23 bucket without pointers, whose overflow buckets hmap.extra
 * keeps alive): its own objects are not evidence of a misuse, neither as
 * holders nor as targets.
 */
static bool runtime_type_name(const char *name)
{
	if (!name)
		return false;
	while (*name == '[' && strchr(name, ']'))
		name = strchr(name, ']') + 1;
	while (*name == '*')
		name++;
	return strncmp(name, "runtime.", 8) == 0 || strncmp(name, "internal/", 9) == 0 || strncmp(name, "maps.", 5) == 0 ||
	       strncmp(name, "map.", 4) == 0 ||
	       strncmp(name, "sync.", 5) == 0 || strncmp(name, "weak.", 5) == 0 || strncmp(name, "unique.", 7) == 0;
}

/* The type facts of object id (per object type, from load_otype_info), or NULL when it has no type. */
static const struct otype_info *otype_info(const struct fctx *c, uint64_t id)
{
	uint32_t k = c->o->type[id];
	return k && k < c->noti ? &c->oti[k] : NULL;
}

static bool runtime_type(const struct fctx *c, uint64_t id)
{
	const struct otype_info *oi = otype_info(c, id);
	return oi && oi->runtime;
}

/*
 * Is value, found in a non-pointer word, an object's address?  The base of
 * an object (live or free) in an in-use span, or a 16-byte aligned address
 * in a span freed since.
 */
static bool hidden_target(const struct fctx *c, uint64_t value, struct ref *r)
{
	uint64_t id;
	*r = (struct ref){ .holder = UINT64_MAX, .value = value, .target = UINT64_MAX };
	if (object_base_value(c, value, &id)) {
		if (weak_referent(c, value) || runtime_type(c, id))
			return false;
		r->target = id;
		r->target_free = !go_bit(c->o->alloc, id);
		return true;
	}
	const struct go_heap_span *h;
	uint64_t slot;
	if (value % 16 || go_find_object(c->o, value, &h, &slot) || !in_freed_span(c, value))
		return false;
	r->target_free = true;
	return true;
}

#define GO_KIND_UINTPTR 12   /* reflect.Uintptr */
#define MAX_UINTPTR_WORDS 65536  /* uintptr words listed per type; larger types are not scanned */

/* The byte offsets of a type's uintptr words (one value of it), computed once per type. */
struct uintptr_words {
	size_t n;
	bool all;          /* an array of uintptr: every word */
	uint32_t off[];
};

static bool add_uintptr_word(struct uintptr_words **w, size_t *cap, uint64_t off)
{
	if ((*w)->n == MAX_UINTPTR_WORDS)
		return false;
	if ((*w)->n == *cap) {
		size_t nc = *cap ? 2 * *cap : 8;
		struct uintptr_words *nw = realloc(*w, sizeof(**w) + nc * sizeof(uint32_t));
		if (!nw)
			return false;
		*w = nw;
		*cap = nc;
	}
	(*w)->off[(*w)->n++] = (uint32_t)off;
	return true;
}

static bool collect_uintptrs(const struct fctx *c, const struct go_type *ty, uint64_t base, struct uintptr_words **w,
			     size_t *cap, int depth)
{
	if (!ty || depth > 16)
		return true;
	if (ty->kind == GO_KIND_UINTPTR)
		return add_uintptr_word(w, cap, base);
	if (ty->kind == GO_KIND_STRUCT) {
		for (size_t i = 0; i < ty->nfields; i++)
			if (!collect_uintptrs(c, go_type_at(c->t, c->go, ty->fields[i].type, NULL), base + ty->fields[i].offset,
					      w, cap, depth + 1))
				return false;
	} else if (ty->kind == GO_KIND_ARRAY) {
		/* The first element's words, then the same shifted by each element: an array of
		   scalars (a [1<<20]byte) costs one element, not a call per element. */
		const struct go_type *elem = go_type_at(c->t, c->go, ty->elem, NULL);
		if (!elem || !elem->size || !ty->len)
			return true;
		size_t first = (*w)->n;
		if (!collect_uintptrs(c, elem, base, w, cap, depth + 1))
			return false;
		size_t per = (*w)->n - first;
		for (uint64_t i = 1; per && i < ty->len; i++)
			for (size_t j = 0; j < per; j++)
				if (!add_uintptr_word(w, cap, (*w)->off[first + j] + i * elem->size))
					return false;
	}
	return true;
}

/* The uintptr words of ty, shared by every object type of it; NULL when out of memory. */
static const struct uintptr_words *uintptr_words(struct fctx *c, const struct go_type *ty)
{
	struct uintptr_words *w = go_map_get(&c->uintptr_types, ty->addr);
	if (w)
		return w;
	size_t cap = 0;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	const struct go_type *elem = ty->kind == GO_KIND_ARRAY ? go_type_at(c->t, c->go, ty->elem, NULL) : NULL;
	if (elem && elem->kind == GO_KIND_UINTPTR)
		w->all = true;
	else if (!collect_uintptrs(c, ty, 0, &w, &cap, 0))
		w->n = 0;  /* too many to list: not scanned */
	if (!go_map_put(&c->uintptr_types, ty->addr, w)) {
		free(w);
		return NULL;
	}
	return w;
}

/*
 * Each object type's facts, before the scans: they then only read them, on
 * any thread (the uintptr words were a cache filled during the scan).  The
 * uintptr words are listed only for types that can be holders (not the
 * runtime's own).
 */
static struct memdbg_error *load_otype_info(struct fctx *c)
{
	const struct go_objects *o = c->o;
	if (!(c->oti = calloc(o->notypes ? o->notypes : 1, sizeof(*c->oti))))
		return memdbg_enomem;
	c->noti = o->notypes;
	for (size_t k = 1; k < o->notypes; k++) {
		const struct go_objtype *ot = &o->otypes[k];
		struct otype_info *oi = &c->oti[k];
		oi->runtime = runtime_type_name(ot->name);
		const struct go_type *ty = ot->type ? go_type_at(c->t, c->go, ot->type, NULL) : NULL;
		if (!ty || !ty->size)
			continue;
		oi->ty = ty;
		if (oi->runtime)
			continue;
		const struct uintptr_words *uw = uintptr_words(c, ty);
		if (!uw)
			return memdbg_enomem;
		oi->uw = uw->n || uw->all ? uw : NULL;
		if ((k & 1023) == 0) {
			struct memdbg_error *err = memdbg_check_interrupt(c->p);
			if (err)
				return err;
		}
	}
	return NULL;
}

/*
 * The words of object id that its type declares uintptr, holding the exact
 * address of an object.  Untyped objects are not scanned: bytes, strings
 * and a slot's padding past its type are never evidence.
 */
static bool scan_hidden(const struct fctx *c, uint64_t id, struct refs *hidden)
{
	const struct otype_info *oi = otype_info(c, id);
	if (!oi || !oi->uw)
		return true;
	const struct go_objtype *ot = &c->o->otypes[c->o->type[id]];
	const struct go_type *ty = oi->ty;
	const struct uintptr_words *uw = oi->uw;
	const struct go_heap_span *h = go_span_of_id(c->o, id);
	uint64_t slot = go_id_addr(h, id), data = slot + (h->header ? 8 : 0);
	uint64_t end = h->nelems == 1 && h->limit > slot && h->limit - slot < h->elemsize ? h->limit : slot + h->elemsize;
	uint64_t n = ot->count ? ot->count : 1;
	uint64_t words = uw->all ? ty->size / 8 : uw->n;
	for (uint64_t e = 0; e < n && data + (e + 1) * ty->size <= end; e++) {
		for (uint64_t i = 0; i < words; i++) {
			uint64_t at = data + e * ty->size + (uw->all ? 8 * i : uw->off[i]), v;
			struct ref r;
			struct memdbg_error *err = memdbg_read_u64(c->t, at, &v);
			if (err) {
				memdbg_error_destroy(err);
				return true;
			}
			if (!hidden_target(c, v, &r) || r.target == id)
				continue;
			r.holder = id;
			r.at = at;
			if (!refs_add(hidden, &r))
				return false;
		}
	}
	return true;
}

/* Globals declared uintptr that hold an object's address. */
struct global_scan {
	struct fctx *c;
	struct refs *hidden;
};

static struct memdbg_error *scan_global(void *arg, const struct memdbg_global *gl)
{
	struct global_scan *gs = arg;
	uint64_t v;
	struct ref r;
	if (gl->part || !gl->type_name || strcmp(gl->type_name, "uintptr") != 0 || gl->size != 8 ||
	    strncmp(gl->name, "runtime.", 8) == 0 || strncmp(gl->name, "internal/", 9) == 0)
		return NULL;
	struct memdbg_error *e = memdbg_read_u64(gs->c->t, gl->addr + gs->c->t->bias, &v);
	if (e) {
		memdbg_error_destroy(e);
		return NULL;
	}
	if (!hidden_target(gs->c, v, &r))
		return NULL;
	r.global = gl->name;
	r.at = gl->addr + gs->c->t->bias;
	return refs_add(gs->hidden, &r) ? NULL : memdbg_enomem;
}

/*
 * The object scan runs on the pool (pool.c) in chunks of nodes; each chunk
 * keeps its own findings, joined in chunk order: the node order of the
 * single-threaded scan, so the output does not depend on the threads.
 */
struct scan_chunk {
	struct refs hidden, dangling;
	bool oom;
};

struct scan_pass {
	const struct fctx *c;
	struct scan_chunk *chunks;
};

/* Objects first_obj + [begin, end); reads only, and writes only its own chunk (any thread). */
static void scan_chunk(void *arg, size_t chunk, size_t begin, size_t end)
{
	struct scan_pass *sp = arg;
	const struct fctx *c = sp->c;
	struct scan_chunk *sc = &sp->chunks[chunk];
	struct go_graph_cursor cur = go_graph_cursor_at(c->g, go_graph_first_obj(c->g) + (uint32_t)begin);
	for (size_t i = begin; i < end && !sc->oom; i++) {
		uint64_t id = go_graph_cursor_next(c->g, &cur);
		if (runtime_type(c, id))
			continue;
		const struct go_heap_span *h = go_span_of_id(c->o, id);
		struct scan_obj so = { c, id, go_id_addr(h, id), &sc->dangling, false };
		if (!h->noscan)
			go_object_pointers(c->t, c->go, c->o, id, note_pointer, &so);
		if (so.oom || !scan_hidden(c, id, &sc->hidden))
			sc->oom = true;
	}
}

/* Append the chunks' refs to r in chunk order; frees them. */
static bool join_refs(struct refs *r, struct scan_chunk *chunks, size_t nchunks, bool hidden)
{
	size_t total = r->n;
	for (size_t k = 0; k < nchunks; k++)
		total += hidden ? chunks[k].hidden.n : chunks[k].dangling.n;
	if (total > r->cap) {
		struct ref *nv = realloc(r->v, total * sizeof(*nv));
		if (!nv)
			return false;
		r->v = nv;
		r->cap = total;
	}
	for (size_t k = 0; k < nchunks; k++) {
		struct refs *x = hidden ? &chunks[k].hidden : &chunks[k].dangling;
		if (x->n)
			memcpy(r->v + r->n, x->v, x->n * sizeof(*x->v));
		r->n += x->n;
		free(x->v);
		*x = (struct refs){ 0 };
	}
	return true;
}

/* Chunk size: about 64 chunks for a small heap (every thread gets some), at most SCAN_GRAIN_MAX objects. */
#define SCAN_GRAIN_MIN 32
#define SCAN_GRAIN_MAX 16384

static struct memdbg_error *scan_objects(struct fctx *c, struct refs *hidden, struct refs *dangling)
{
	const struct go_graph *g = c->g;
	size_t nobj = g->nnodes - go_graph_first_obj(g), grain = nobj / 64;
	grain = grain < SCAN_GRAIN_MIN ? SCAN_GRAIN_MIN : grain > SCAN_GRAIN_MAX ? SCAN_GRAIN_MAX : grain;
	size_t nchunks = (nobj + grain - 1) / grain;
	struct scan_pass sp = { c, calloc(nchunks ? nchunks : 1, sizeof(*sp.chunks)) };
	if (!sp.chunks)
		return memdbg_enomem;
	struct memdbg_error *err = memdbg_parallel(c->t, c->p, "scanning objects", nobj, grain, scan_chunk, &sp);
	for (size_t k = 0; k < nchunks && !err; k++)
		if (sp.chunks[k].oom)
			err = memdbg_enomem;
	if (!err && (!join_refs(hidden, sp.chunks, nchunks, true) || !join_refs(dangling, sp.chunks, nchunks, false)))
		err = memdbg_enomem;
	for (size_t k = 0; k < nchunks; k++) {
		free(sp.chunks[k].hidden.v);
		free(sp.chunks[k].dangling.v);
	}
	free(sp.chunks);
	if (!err && c->t->dwarf) {
		struct global_scan gs = { c, hidden };
		err = memdbg_dwarf_for_each_global(c->t->dwarf, scan_global, &gs);
	}
	return err;
}

static void print_ref_holder(const struct fctx *c, const struct ref *r)
{
	char field[256];
	if (r->holder == UINT64_MAX) {
		memdbg_field_str(c->p, "holder", r->global);
		memdbg_field_str(c->p, "path", r->global);
		return;
	}
	memdbg_begin_object(c->p, "held_in", "held in");
	memdbg_field_hex(c->p, "addr", obj_base(c, r->holder));
	memdbg_field_str(c->p, "type", type_or(c, r->holder));
	field_at(c, r->holder, r->at - obj_base(c, r->holder), field, sizeof(field));
	memdbg_field_str(c->p, "field", field);
	memdbg_end_object(c->p);
	print_holder(c, r->holder);
}

static void print_refs(struct fctx *c, const struct refs *r, bool hidden)
{
	memdbg_begin_array(c->p, "items", NULL);
	for (size_t i = 0; i < r->n && i < MAX_ITEMS; i++) {
		const struct ref *x = &r->v[i];
		const char *state = x->target_free ? (x->target == UINT64_MAX ? "freed span" : "free slot") : "live";
		char title[320];
		snprintf(title, sizeof(title), "0x%" PRIx64 " holds 0x%" PRIx64 " (%s%s%s)", x->at, x->value, state,
			 x->target != UINT64_MAX ? ", " : "", x->target != UINT64_MAX ? type_or(c, x->target) : "");
		memdbg_begin_object(c->p, NULL, title);
		memdbg_field_hex(c->p, "at", x->at);
		memdbg_field_hex(c->p, "value", x->value);
		memdbg_field_str(c->p, "target_state", state);
		if (x->target != UINT64_MAX) {
			memdbg_field_hex(c->p, "target", obj_base(c, x->target));
			memdbg_field_str(c->p, "target_type", type_or(c, x->target));
			memdbg_field_u64(c->p, "target_size", obj_size(c, x->target));
		} else {
			memdbg_field_null(c->p, "target");
		}
		print_ref_holder(c, x);
		memdbg_end_object(c->p);
	}
	memdbg_end_array(c->p);
	(void)hidden;
}

static uint64_t refs_bytes(const struct fctx *c, const struct refs *r)
{
	uint64_t b = 0;
	for (size_t i = 0; i < r->n; i++)
		b += r->v[i].target != UINT64_MAX ? obj_size(c, r->v[i].target) : 8;
	return b;
}

static struct memdbg_error *section_refs(struct fctx *c)
{
	struct refs hidden = { 0 }, dangling = { 0 };
	struct memdbg_error *err = scan_objects(c, &hidden, &dangling);
	if (err && err != memdbg_interrupted && err != memdbg_enomem) {
		memdbg_error_destroy(err);
		err = NULL;
	}
	if (err) {
		free(hidden.v);
		free(dangling.v);
		return err;
	}
	begin_section(c, "gc-invisible", "GC-invisible references", true,
		      "object addresses kept in uintptr words (fields their type declares uintptr, uintptr "
		      "globals): the GC does not see them");
	print_refs(c, &hidden, true);
	end_section(c, hidden.n, refs_bytes(c, &hidden));
	begin_section(c, "dangling", "Dangling pointers", true,
		      "pointer slots of live objects pointing into free slots or freed spans");
	print_refs(c, &dangling, false);
	end_section(c, dangling.n, refs_bytes(c, &dangling));
	free(hidden.v);
	free(dangling.v);
	return NULL;
}

/* ---- 3b. pooled objects still referenced from outside their pool ---- */

static struct memdbg_error *section_after_put(struct fctx *c)
{
	struct go_pool_alias *a;
	size_t n;
	uint64_t bytes = 0;
	struct memdbg_error *err = go_pool_aliases(c->t, c->p, &a, &n);
	if (err)
		return err;
	begin_section(c, "used-after-put", "Pooled objects still in use", true,
		      "objects a sync.Pool holds that something outside the pool still points at (used after Put)");
	memdbg_begin_array(c->p, "items", NULL);
	for (size_t i = 0; i < n; i++) {
		uint64_t base = obj_base(c, a[i].id), size = obj_size(c, a[i].id);
		bytes += size;
		if (i >= MAX_ITEMS)
			continue;
		struct ref r = { .holder = UINT64_MAX };
		if (a[i].referrer < go_graph_first_obj(c->g)) {
			r.global = root_of_node(c, a[i].referrer)->name;
		} else {
			r.holder = go_graph_id(c->g, a[i].referrer);
			r.at = go_slot_to(c->t, c->go, c->o, r.holder, a[i].id);
		}
		char title[512];
		snprintf(title, sizeof(title), "0x%" PRIx64 " (%s, %" PRIu64 " B) in %s, P %" PRIu32 " %s %s", base,
			 type_or(c, a[i].id), size, a[i].pool, a[i].p, a[i].cache, a[i].slot);
		memdbg_begin_object(c->p, NULL, title);
		memdbg_field_str(c->p, "pool", a[i].pool);
		memdbg_field_hex(c->p, "pool_addr", a[i].pool_addr);
		memdbg_field_hex(c->p, "addr", base);
		memdbg_field_str(c->p, "type", type_or(c, a[i].id));
		memdbg_field_u64(c->p, "size", size);
		memdbg_field_u64(c->p, "p", a[i].p);
		memdbg_field_str(c->p, "cache", a[i].cache);
		memdbg_field_str(c->p, "slot", a[i].slot);
		print_ref_holder(c, &r);
		memdbg_end_object(c->p);
	}
	memdbg_end_array(c->p);
	end_section(c, n, bytes);
	free(a);
	return NULL;
}

/* ---- 6. Go heap pointers outside the Go heap ---- */

struct ranges {
	struct range *v;
	size_t n, cap;
};

static bool ranges_add(struct ranges *r, uint64_t lo, uint64_t hi)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct range *nv = realloc(r->v, cap * sizeof(*nv));
		if (!nv)
			return false;
		r->v = nv;
		r->cap = cap;
	}
	r->v[r->n++] = (struct range){ lo, hi };
	return true;
}

static bool ranges_overlap(const struct ranges *r, uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < r->n; i++)
		if (lo < r->v[i].hi && r->v[i].lo < hi)
			return true;
	return false;
}

/* Memory the Go runtime owns outside the heap: arenas, persistentalloc chunks, g0 stacks, data/bss. */
static bool go_owned_ranges(struct fctx *c, struct ranges *r)
{
	struct memdbg_target *t = c->t;
	const struct memdbg_go *go = c->go;
	uint64_t ab = go->l.arena_bytes ? go->l.arena_bytes : 64ull << 20;
	for (size_t i = 0; i < go->nspans; i++) {
		uint64_t a = go->spans[i].start & ~(ab - 1);
		if (go->spans[i].start && !ranges_overlap(r, a, a + ab) && !ranges_add(r, a, a + ab))
			return false;
	}
	uint64_t chunks, chunk_size = 256 << 10, lo, hi;
	int64_t v;
	if (t->dwarf && memdbg_dwarf_const(t->dwarf, "runtime.persistentChunkSize", &v) && v > 0)
		chunk_size = (uint64_t)v;
	if (memdbg_target_symbol(t, "runtime.persistentChunks", &chunks, NULL)) {
		uint64_t ch = read_word(t, chunks);
		for (size_t n = 0; ch && n < MAX_CHUNKS; n++, ch = read_word(t, ch))
			if (!ranges_add(r, ch, ch + chunk_size))
				return false;
	}
	if (memdbg_target_symbol(t, "runtime.data", &lo, NULL) && memdbg_target_symbol(t, "runtime.enoptrbss", &hi, NULL) &&
	    lo < hi && !ranges_add(r, lo, hi))
		return false;
	uint64_t allm, g0, alllink, gsig, stk_lo, stk_hi;
	struct memdbg_dwarf *d = t->dwarf;
	if (d && memdbg_target_symbol(t, "runtime.allm", &allm, NULL) &&
	    memdbg_dwarf_member(d, "runtime.m", "g0", &g0, NULL) &&
	    memdbg_dwarf_member(d, "runtime.m", "gsignal", &gsig, NULL) &&
	    memdbg_dwarf_member(d, "runtime.m", "alllink", &alllink, NULL) &&
	    memdbg_dwarf_member(d, "runtime.g", "stack.lo", &stk_lo, NULL) &&
	    memdbg_dwarf_member(d, "runtime.g", "stack.hi", &stk_hi, NULL)) {
		uint64_t m = read_word(t, allm);
		for (size_t n = 0; m && n < MAX_MS; n++, m = read_word(t, m + alllink)) {
			uint64_t gs[2] = { read_word(t, m + g0), read_word(t, m + gsig) };
			for (int k = 0; k < 2; k++) {
				uint64_t l = gs[k] ? read_word(t, gs[k] + stk_lo) : 0, h = gs[k] ? read_word(t, gs[k] + stk_hi) : 0;
				if (l && h > l && !ranges_add(r, l, h))
					return false;
			}
		}
	}
	return true;
}

struct outside_scan {
	struct fctx *c;
	const struct ranges *owned;
	struct refs *found;
	uint64_t *buf;  /* SCAN_CHUNK bytes */
	uint64_t regions;
};

/* One region of anonymous memory Go does not own: every word that is a Go object's address. */
static struct memdbg_error *scan_outside(void *arg, uint64_t lo, uint64_t hi, bool anon)
{
	struct outside_scan *os = arg;
	struct fctx *c = os->c;
	if (!anon || ranges_overlap(os->owned, lo, hi))
		return NULL;
	os->regions++;
	struct memdbg_error *err = NULL;
	for (uint64_t a = lo; a < hi && !err; a += SCAN_CHUNK) {
		uint64_t n = hi - a < SCAN_CHUNK ? hi - a : SCAN_CHUNK;
		struct memdbg_error *e = memdbg_read(c->t, a, os->buf, n & ~7ull);
		if (e) {
			memdbg_error_destroy(e);
			break;
		}
		for (uint64_t k = 0; k < n / 8 && !err; k++) {
			uint64_t id, v = os->buf[k];
			if (!object_base_value(c, v, &id) || runtime_type(c, id))
				continue;
			struct ref r = { .holder = UINT64_MAX, .global = NULL, .at = a + 8 * k, .value = v,
					 .target = id, .target_free = !go_bit(c->o->alloc, id) };
			if (!refs_add(os->found, &r))
				err = memdbg_enomem;
		}
		if (!err)
			err = memdbg_check_interrupt(c->p);
	}
	return err;
}

static struct memdbg_error *section_outside(struct fctx *c)
{
	struct ranges owned = { 0 };
	struct refs found = { 0 };
	struct outside_scan os = { c, &owned, &found, malloc(SCAN_CHUNK), 0 };
	struct memdbg_error *err = os.buf ? NULL : memdbg_enomem;
	uint64_t iscgo = 0, at;
	if (memdbg_target_symbol(c->t, "runtime.iscgo", &at, NULL)) {
		struct memdbg_error *e = memdbg_read(c->t, at, &iscgo, 1);
		memdbg_error_destroy(e);
	}
	if (!err && !go_owned_ranges(c, &owned))
		err = memdbg_enomem;
	if (!err && iscgo)
		err = memdbg_target_data_regions(c->t, scan_outside, &os);
	free(os.buf);
	if (!err) {
		begin_section(c, "outside-heap", "Go pointers outside the Go heap", true,
			      "words in memory Go does not manage (C malloc heaps, mmap) holding Go object addresses: "
			      "the GC does not see them (cgo)");
		memdbg_field_bool(c->p, "cgo", iscgo != 0);
		memdbg_field_u64(c->p, "regions_scanned", os.regions);
		/* The C heap block holding each word (a glibc chunk, a jemalloc or TCMalloc block). */
		struct alloc_heaps heaps;
		struct memdbg_error *herr = found.n ? alloc_heaps_open(c->t, c->p, &heaps) : NULL;
		bool have_heaps = found.n && !herr;
		memdbg_error_destroy(herr);
		memdbg_begin_array(c->p, "items", NULL);
		for (size_t i = 0; i < found.n && i < MAX_ITEMS; i++) {
			const struct ref *x = &found.v[i];
			const char *state = x->target_free ? "free slot" : "live";
			char title[320];
			snprintf(title, sizeof(title), "0x%" PRIx64 " holds 0x%" PRIx64 " (%s, %s)", x->at, x->value, state,
				 type_or(c, x->target));
			memdbg_begin_object(c->p, NULL, title);
			memdbg_field_hex(c->p, "at", x->at);
			char block[128];
			if (have_heaps && alloc_block_name(c->t, &heaps, x->at, block, sizeof(block)))
				memdbg_field_str(c->p, "c_block", block);
			else
				memdbg_field_null(c->p, "c_block");
			memdbg_field_hex(c->p, "value", x->value);
			memdbg_field_str(c->p, "target_state", state);
			memdbg_field_hex(c->p, "target", obj_base(c, x->target));
			memdbg_field_str(c->p, "target_type", type_or(c, x->target));
			memdbg_field_u64(c->p, "target_size", obj_size(c, x->target));
			if (!x->target_free) {
				char root[256], path[1024];
				holder_of(c, x->target, root, sizeof(root), path, sizeof(path));
				memdbg_field_str(c->p, "go_holder", root);
			} else {
				memdbg_field_null(c->p, "go_holder");
			}
			memdbg_end_object(c->p);
		}
		memdbg_end_array(c->p);
		if (have_heaps)
			alloc_heaps_close(&heaps);
		if (!iscgo)
			memdbg_note(c->p, "    (not a cgo program: no C code to hold Go pointers)");
		end_section(c, found.n, refs_bytes(c, &found));
	}
	free(owned.v);
	free(found.v);
	return err;
}

/* ---- 7. large objects ---- */

static int large_cmp(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	if (x[1] != y[1])
		return x[1] < y[1] ? 1 : -1;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

static struct memdbg_error *section_large(struct fctx *c)
{
	uint64_t (*rows)[2] = NULL;
	size_t n = 0, cap = 0;
	uint64_t bytes = 0;
	/* The live objects of spans of objects over LARGE_OBJECT (the rows are sorted below: any order will do). */
	for (size_t i = 0; i < c->o->nhs; i++) {
		const struct go_heap_span *h = &c->o->hs[i];
		for (uint64_t id = h->first; h->elemsize > LARGE_OBJECT && id < h->first + h->nelems; id++) {
			if (!go_graph_node(c->g, id))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				uint64_t(*nr)[2] = realloc(rows, cap * sizeof(*nr));
				if (!nr) {
					free(rows);
					return memdbg_enomem;
				}
				rows = nr;
			}
			rows[n][0] = id;
			rows[n++][1] = h->elemsize;
			bytes += h->elemsize;
		}
	}
	if (n)
		qsort(rows, n, sizeof(*rows), large_cmp);
	begin_section(c, "large-objects", "Large objects", false, "live objects over 32 KiB (each has its own span) and who holds them");
	memdbg_begin_array(c->p, "items", NULL);
	for (size_t i = 0; i < n && i < MAX_ITEMS; i++) {
		uint64_t id = rows[i][0];
		char title[256];
		snprintf(title, sizeof(title), "0x%" PRIx64 " %s, %" PRIu64 " B", obj_base(c, id), type_or(c, id), rows[i][1]);
		memdbg_begin_object(c->p, NULL, title);
		memdbg_field_hex(c->p, "addr", obj_base(c, id));
		memdbg_field_str(c->p, "type", type_or(c, id));
		memdbg_field_u64(c->p, "size", rows[i][1]);
		memdbg_field_u64(c->p, "retained_bytes", retained_of(c, id));
		print_holder(c, id);
		memdbg_end_object(c->p);
	}
	memdbg_end_array(c->p);
	end_section(c, n, bytes);
	free(rows);
	return NULL;
}

/* ---- 8. fragmentation hot spots ---- */

struct class_frag {
	unsigned cls;
	uint64_t elemsize, spans, slots, used, free_bytes, span_bytes;
};

static int frag_cmp(const void *a, const void *b)
{
	const struct class_frag *x = a, *y = b;
	if (x->free_bytes != y->free_bytes)
		return x->free_bytes < y->free_bytes ? 1 : -1;
	return x->cls < y->cls ? -1 : x->cls > y->cls;
}

static struct memdbg_error *section_frag(struct fctx *c)
{
	const struct memdbg_go *go = c->go;
	struct class_frag cf[256];
	memset(cf, 0, sizeof(cf));
	for (size_t i = 0; i < go->nspans; i++) {
		const struct go_span *s = &go->spans[i];
		unsigned cls = go_size_class(s->spanclass);
		if (s->state != go->l.span_in_use || !cls || !s->nelems)
			continue;
		struct class_frag *f = &cf[cls];
		f->cls = cls;
		f->elemsize = s->elemsize;
		f->spans++;
		f->slots += s->nelems;
		f->used += s->allocated < s->nelems ? s->allocated : s->nelems;
		f->free_bytes += (uint64_t)(s->nelems - (s->allocated < s->nelems ? s->allocated : s->nelems)) * s->elemsize;
		f->span_bytes += s->npages * go->l.page_size;
	}
	qsort(cf, 256, sizeof(cf[0]), frag_cmp);
	uint64_t count = 0, bytes = 0;
	begin_section(c, "fragmentation", "Fragmentation hot spots", false,
		      "size classes whose in-use spans are mostly free slots (see frag)");
	memdbg_field_u64(c->p, "min_free_bytes", c->opt.min_frag_bytes);
	memdbg_begin_array(c->p, "items", NULL);
	for (size_t i = 0; i < 256 && cf[i].free_bytes >= c->opt.min_frag_bytes && cf[i].free_bytes; i++) {
		double util = cf[i].slots ? 100.0 * (double)cf[i].used / (double)cf[i].slots : 0;
		if (util >= 50.0)
			continue;
		char title[256];
		snprintf(title, sizeof(title), "class %u (%" PRIu64 " B): %" PRIu64 " B free in %" PRIu64 " spans, %.1f%% used",
			 cf[i].cls, cf[i].elemsize, cf[i].free_bytes, cf[i].spans, util);
		memdbg_begin_object(c->p, NULL, title);
		memdbg_field_u64(c->p, "size_class", cf[i].cls);
		memdbg_field_u64(c->p, "elemsize", cf[i].elemsize);
		memdbg_field_u64(c->p, "spans", cf[i].spans);
		memdbg_field_u64(c->p, "slots", cf[i].slots);
		memdbg_field_u64(c->p, "used_slots", cf[i].used);
		memdbg_field_pct(c->p, "utilization", util);
		memdbg_field_u64(c->p, "free_bytes", cf[i].free_bytes);
		memdbg_end_object(c->p);
		count++;
		bytes += cf[i].free_bytes;
	}
	memdbg_end_array(c->p);
	end_section(c, count, bytes);
	return NULL;
}

/* ---- 9. finalizers and cleanups ---- */

/*
 * A finalizer or cleanup whose function keeps its own object alive never
 * runs (a finding); one that retains much memory is an observation.
 */
static struct memdbg_error *section_finalizers(struct fctx *c, bool self_only)
{
	const struct go_graph *g = c->g;
	uint64_t count = 0, bytes = 0;
	if (self_only)
		begin_section(c, "finalizers", "Finalizers and cleanups that never run", true,
			      "finalizer/cleanup functions that keep their own object alive, so it never runs");
	else
		begin_section(c, "finalizer-retention", "Finalizers and cleanups keeping memory", false,
			      "finalizer/cleanup functions (and the referents they keep) retaining much memory");
	if (!self_only)
		memdbg_field_u64(c->p, "min_finalizer_bytes", c->opt.min_finalizer_bytes);
	memdbg_begin_array(c->p, "items", NULL);
	for (uint32_t r = 1; r < go_graph_first_obj(g); r++) {
		const struct go_root *root = root_of_node(c, r);
		unsigned long long obj;
		char kind[16];
		if (root->kind != GO_ROOT_FINALIZER || sscanf(root->name, "%15s of 0x%llx", kind, &obj) != 2)
			continue;
		uint64_t id;
		bool self = go_object_at(c->o, obj, &id) && go_graph_node(c->g, id) &&
			    top_root(g, go_graph_node(c->g, id)) == r;
		if (self != self_only || (!self && g->retained[r] < c->opt.min_finalizer_bytes))
			continue;
		char title[320];
		snprintf(title, sizeof(title), "%s: retains %" PRIu64 " B%s", root->name, g->retained[r],
			 self ? "; keeps its own object alive, never runs" : "");
		memdbg_begin_object(c->p, NULL, title);
		memdbg_field_str(c->p, "root", root->name);
		memdbg_field_str(c->p, "kind", kind);
		memdbg_field_hex(c->p, "object", obj);
		memdbg_field_str(c->p, "object_type", go_object_at(c->o, obj, &id) ? type_or(c, id) : "(unknown type)");
		memdbg_field_bool(c->p, "keeps_own_object", self);
		memdbg_field_u64(c->p, "retained_bytes", g->retained[r]);
		memdbg_field_u64(c->p, "retained_objects", g->retained_count[r]);
		memdbg_end_object(c->p);
		count++;
		bytes += g->retained[r];
	}
	memdbg_end_array(c->p);
	end_section(c, count, bytes);
	return NULL;
}

/* ---- the command ---- */

void findings_default_opts(struct findings_opts *o)
{
	*o = (struct findings_opts){ .min_goroutines = 100, .min_entries = 1000, .min_pool_bytes = 64 << 10,
				     .min_frag_bytes = 1 << 20, .min_finalizer_bytes = 64 << 10 };
}

static struct memdbg_error *print_sections(struct fctx *c)
{
	struct memdbg_error *err;
	memdbg_begin_array(c->p, "sections", NULL);
	if (!(err = section_goroutines(c)) && !(err = section_maps(c)) && !(err = section_pools(c)) &&
	    !(err = section_after_put(c)) && !(err = section_refs(c)) && !(err = section_outside(c)) &&
	    !(err = section_large(c)) && !(err = section_frag(c)) && !(err = section_finalizers(c, true)))
		err = section_finalizers(c, false);
	memdbg_end_array(c->p);
	return err;
}

struct memdbg_error *findings_print(struct memdbg_target *t, struct memdbg_printer *p, const struct findings_opts *opt,
				    size_t *total)
{
	struct fctx c = { .t = t, .p = p, .opt = *opt };
	struct memdbg_error *err;
	if ((err = memdbg_go_get(t, &c.go)) || (err = go_objects_get(t, c.go, p, &c.o)) ||
	    (err = go_graph_get(t, c.go, c.o, p, &c.g)))
		return err;
	c.heap_lo = c.o->nhs ? c.o->hs[0].start : 0;
	c.heap_hi = c.o->nhs ? c.o->hs[c.o->nhs - 1].end : 0;
	if (!(err = load_held(&c)) && !(err = load_otype_info(&c)))
		err = print_sections(&c);
	free(c.arenas);
	free(c.held);
	free(c.oti);
	for (size_t i = 0; i < c.uintptr_types.cap; i++)
		if (c.uintptr_types.keys[i])
			free(c.uintptr_types.vals[i]);
	go_map_free(&c.uintptr_types);
	if (err)
		return err;
	memdbg_field_u64(p, "total_findings", c.total);
	if (total)
		*total = c.total;
	return NULL;
}

static struct memdbg_error *run_findings(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct findings_opts o;
	struct memdbg_error *err;
	findings_default_opts(&o);
	if ((err = memdbg_arg_u64(a, "--min-goroutines", o.min_goroutines, UINT32_MAX, &o.min_goroutines)) ||
	    (err = memdbg_arg_u64(a, "--min-entries", o.min_entries, UINT64_MAX, &o.min_entries)) ||
	    (err = memdbg_arg_u64(a, "--min-pool-bytes", o.min_pool_bytes, UINT64_MAX, &o.min_pool_bytes)) ||
	    (err = memdbg_arg_u64(a, "--min-frag-bytes", o.min_frag_bytes, UINT64_MAX, &o.min_frag_bytes)) ||
	    (err = memdbg_arg_u64(a, "--min-finalizer-bytes", o.min_finalizer_bytes, UINT64_MAX,
				  &o.min_finalizer_bytes)))
		return err;
	return findings_print(t, p, &o, NULL);
}

static const struct memdbg_opt findings_opts_table[] = {
	{ "--min-goroutines", "N", "goroutines waiting at one place that make a group (default 100)" },
	{ "--min-entries", "N", "entries that make a map worth reporting (default 1000)" },
	{ "--min-pool-bytes", "B", "bytes a sync.Pool must retain to be reported (default 65536)" },
	{ "--min-frag-bytes", "B", "free-slot bytes of a size class that make a hot spot (default 1048576)" },
	{ "--min-finalizer-bytes", "B", "bytes a finalizer or cleanup must retain to be reported (default 65536)" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_findings = {
	.info = {
		.name = "findings",
		.summary = "memory misuses with evidence: leaks, big maps, pools, use after Put, hidden and dangling "
			   "pointers, cgo, ...",
		.usage = "findings [--min-goroutines N] [--min-entries N] [--min-pool-bytes B] [--min-frag-bytes B] "
			 "[--min-finalizer-bytes B] [--json]",
		.help = "One section per misuse (counted in total_findings) or observation (not counted), each\n"
			"with its evidence and the bytes involved:\n"
			"  goroutine-leaks     goroutines blocked on a channel, mutex, WaitGroup or cond that no\n"
			"                      global and no goroutine able to run can reach: never woken\n"
			"  goroutine-groups    (observation) >= N goroutines waiting at the same place, not leaked\n"
			"  maps                (observation) maps with >= N entries, retained bytes\n"
			"  pool-residue        (observation) sync.Pool globals retaining >= B bytes\n"
			"  used-after-put      pooled objects that something outside the pool still points at\n"
			"  gc-invisible        words typed uintptr (fields, uintptr globals) holding the exact\n"
			"                      address of an object, live or free\n"
			"  dangling            pointer slots of live objects pointing into free slots or freed spans\n"
			"  outside-heap        words of anonymous memory Go does not own (C malloc heaps, mmap)\n"
			"                      holding a Go object's address\n"
			"  large-objects       (observation) live objects over 32 KiB\n"
			"  fragmentation       (observation) size classes with >= B free-slot bytes, under 50% used\n"
			"  finalizers          finalizers/cleanups whose function keeps its own object alive\n"
			"  finalizer-retention (observation) other finalizers/cleanups retaining >= B bytes\n"
			"A holder is the root at the top of the object's dominator chain, and path the types\n"
			"of that chain down to the object.",
	},
	.opts = findings_opts_table,
	.needs_target = true,
	.run = run_findings,
};
