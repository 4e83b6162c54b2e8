/* objcmds.c - object-level commands: histogram, objects, object, roots. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/objects.h"
#include "go/types.h"

static struct memdbg_error *open_objects(struct memdbg_target *t, struct memdbg_printer *p, struct memdbg_go **go,
					 struct go_objects **o)
{
	struct memdbg_error *err = memdbg_go_get(t, go);
	return err ? err : go_objects_get(t, *go, p, o);
}

enum liveness { LIVE_ONLY, GARBAGE_ONLY, ALL };

static struct memdbg_error *parse_liveness(struct memdbg_args *a, enum liveness def, enum liveness *ret)
{
	int n = memdbg_arg_flag(a, "--live") + memdbg_arg_flag(a, "--garbage") + memdbg_arg_flag(a, "--all");
	if (n > 1)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "--live, --garbage and --all exclude each other");
	*ret = memdbg_arg_flag(a, "--live") ? LIVE_ONLY : memdbg_arg_flag(a, "--garbage") ? GARBAGE_ONLY
				      : memdbg_arg_flag(a, "--all") ? ALL : def;
	return NULL;
}

static bool wanted(const struct go_objects *o, uint64_t id, enum liveness which)
{
	if (!go_bit(o->alloc, id))
		return false;
	return which == ALL || go_bit(o->live, id) == (which == LIVE_ONLY);
}

/* Problems met while building the graph, said once at the end of a command. */
static void print_problems(const struct go_objects *o, struct memdbg_printer *p)
{
	memdbg_begin_object(p, "problems", "Problems");
	memdbg_field_u64(p, "bad_headers", o->bad_headers);
	memdbg_field_u64(p, "bad_types", o->bad_types);
	memdbg_field_u64(p, "unreadable_bitmaps", o->unreadable_bits);
	memdbg_field_u64(p, "unscanned_stacks", o->conservative_stacks);
	memdbg_field_u64(p, "rejected_types", o->rejected_types);
	memdbg_field_u64(p, "rejected_objects", o->rejected_objects);
	memdbg_end_object(p);
}

/* ---- histogram ---- */

/* Type sources as histogram --why counts them: go_type_src by evidence (none, heap bits, noscan). */
#define NSOURCES (7 * 3)

struct hist_row {
	char *name;
	uint64_t count, bytes, elements;
	bool typed, arrays;
	uint64_t src[NSOURCES], src_example[NSOURCES];  /* objects per source, and one of them (its class name) */
};

struct hist {
	struct hist_row *rows;
	size_t n, cap;
	uint32_t *slots;  /* open addressing by name: row index + 1 */
	size_t nslots;
};

static uint64_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

/* The row named name (made on first use), or NULL when out of memory. */
static struct hist_row *hist_row(struct hist *hs, const char *name)
{
	if ((hs->n + 1) * 2 > hs->nslots) {
		size_t ns = hs->nslots ? hs->nslots * 2 : 1024;
		uint32_t *slots = calloc(ns, sizeof(*slots));
		if (!slots)
			return NULL;
		for (size_t i = 0; i < hs->n; i++) {
			size_t k = hash_name(hs->rows[i].name) & (ns - 1);
			while (slots[k])
				k = (k + 1) & (ns - 1);
			slots[k] = (uint32_t)i + 1;
		}
		free(hs->slots);
		hs->slots = slots;
		hs->nslots = ns;
	}
	size_t k = hash_name(name) & (hs->nslots - 1);
	for (; hs->slots[k]; k = (k + 1) & (hs->nslots - 1))
		if (strcmp(hs->rows[hs->slots[k] - 1].name, name) == 0)
			return &hs->rows[hs->slots[k] - 1];
	if (hs->n == hs->cap) {
		size_t cap = hs->cap ? hs->cap * 2 : 256;
		struct hist_row *r = realloc(hs->rows, cap * sizeof(*r));
		if (!r)
			return NULL;
		hs->rows = r;
		hs->cap = cap;
	}
	struct hist_row *r = &hs->rows[hs->n];
	*r = (struct hist_row){ .name = strdup(name) };
	if (!r->name)
		return NULL;
	hs->slots[k] = (uint32_t)++hs->n;
	return r;
}

static void hist_free(struct hist *hs)
{
	for (size_t i = 0; i < hs->n; i++)
		free(hs->rows[i].name);
	free(hs->rows);
	free(hs->slots);
}

static int hist_cmp(const void *a, const void *b)
{
	const struct hist_row *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strcmp(x->name, y->name);
}

/*
 * The row of a type: "[N]T" backing arrays share one "[]T" row unless
 * split; then a heap slice header (new([]T), a slice boxed in an interface)
 * is "[]T (slice header)" so that the two never share a name.
 */
static void row_name(struct memdbg_target *t, struct memdbg_go *go, const struct go_objtype *ot, bool split,
		     char *buf, size_t size)
{
	const struct go_type *ty = ot->type ? go_type_at(t, go, ot->type, NULL) : NULL;
	if (split)
		snprintf(buf, size, "%s", ot->name);
	else if (ot->count)
		snprintf(buf, size, "[]%s", strchr(ot->name, ']') ? strchr(ot->name, ']') + 1 : ot->name);
	else if (ty && ty->kind == GO_KIND_SLICE)
		snprintf(buf, size, "%s (slice header)", ot->name);
	else
		snprintf(buf, size, "%s", ot->name);
}

/* "header 3, heap bits + referrer 2": a row's sources, most objects first. */
static void sources_text(const struct go_objects *o, const struct hist_row *r, char *buf, size_t size)
{
	bool done[NSOURCES] = { false };
	size_t len = 0;
	buf[0] = '\0';
	for (int shown = 0; shown < NSOURCES && len + 1 < size; shown++) {
		int best = -1;
		for (int k = 0; k < NSOURCES; k++)
			if (r->src[k] && !done[k] && (best < 0 || r->src[k] > r->src[best]))
				best = k;
		if (best < 0)
			break;
		done[best] = true;
		int n = snprintf(buf + len, size - len, "%s%s %" PRIu64, len ? ", " : "",
				 go_type_source_class(o, r->src_example[best]), r->src[best]);
		len = n > 0 && (size_t)n < size - len ? len + (size_t)n : size - 1;
	}
}

static void print_hist_row(const struct go_objects *o, struct memdbg_printer *p, const struct hist_row *r, bool why)
{
	char name[MEMDBG_NAME_WIDTH + 1], src[512];
	if (!memdbg_printer_json(p)) {
		if (why)
			sources_text(o, r, src, sizeof(src));
		memdbg_note(p, "%10" PRIu64 " %14" PRIu64 " %s%s%s", r->count, r->bytes,
			    memdbg_elide(r->name, MEMDBG_NAME_WIDTH, name, sizeof(name)), why ? "  <- " : "", why ? src : "");
		return;
	}
	memdbg_begin_object(p, NULL, NULL);
	memdbg_field_u64(p, "count", r->count);
	memdbg_field_u64(p, "bytes", r->bytes);
	memdbg_field_str(p, "type", r->name);
	memdbg_field_bool(p, "typed", r->typed);
	if (r->arrays)
		memdbg_field_u64(p, "elements", r->elements);
	memdbg_begin_object(p, "sources", NULL);
	for (int k = 0; k < NSOURCES; k++)
		if (r->src[k])
			memdbg_field_u64(p, go_type_source_class(o, r->src_example[k]), r->src[k]);
	memdbg_end_object(p);
	memdbg_end_object(p);
}

struct class_row {
	unsigned cls;
	uint64_t count, bytes;
};

static int class_row_cmp(const void *a, const void *b)
{
	const struct class_row *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->cls < y->cls ? -1 : x->cls > y->cls;
}

static struct memdbg_error *histogram_by_class(struct memdbg_go *go, struct go_objects *o, struct memdbg_printer *p,
					       enum liveness which, uint64_t top, uint64_t totals[4])
{
	size_t n = go->l.num_size_classes;
	struct class_row *rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows)
		return memdbg_enomem;
	for (size_t i = 0; i < n; i++)
		rows[i].cls = (unsigned)i;
	for (size_t i = 0; i < o->nhs; i++) {
		const struct go_heap_span *h = &o->hs[i];
		unsigned cls = go_size_class(go->spans[h->span].spanclass);
		for (uint32_t k = 0; k < h->nelems; k++) {
			uint64_t id = h->first + k;
			if (!wanted(o, id, which) || cls >= n)
				continue;
			rows[cls].count++;
			rows[cls].bytes += h->elemsize;
			totals[0]++;
			totals[1] += h->elemsize;
			totals[2] += o->type[id] != 0;
			totals[3] += o->type[id] ? h->elemsize : 0;
		}
	}
	qsort(rows, n, sizeof(*rows), class_row_cmp);
	static const struct memdbg_col cols[] = {
		{ "class", MEMDBG_COL_U64, 5 },
		{ "size", MEMDBG_COL_U64, 6 },
		{ "count", MEMDBG_COL_U64, 10 },
		{ "bytes", MEMDBG_COL_U64, 14 },
	};
	memdbg_table_begin(p, "classes", cols, MEMDBG_ARRAY_SIZE(cols));
	for (size_t i = 0; i < n && i < top && rows[i].count; i++) {
		struct memdbg_val v[4] = { { .u = rows[i].cls }, { .u = go->class_to_size[rows[i].cls] },
					   { .u = rows[i].count }, { .u = rows[i].bytes } };
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	free(rows);
	return NULL;
}

static struct memdbg_error *histogram_by_type(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o,
					      struct memdbg_printer *p, enum liveness which, uint64_t top, bool split,
					      bool why, uint64_t totals[4])
{
	struct hist hs = { 0 };
	struct memdbg_error *err = NULL;
	/* A row per object type, looked up once per type. */
	uint32_t *row_of = calloc(o->notypes + 1, sizeof(*row_of));
	char name[1024];
	for (size_t k = 1; row_of && k < o->notypes && !err; k++) {
		row_name(t, go, &o->otypes[k], split, name, sizeof(name));
		struct hist_row *r = hist_row(&hs, name);
		if (!r)
			err = memdbg_enomem;
		else
			row_of[k] = (uint32_t)(r - hs.rows) + 1;
	}
	if (!row_of)
		err = memdbg_enomem;
	for (size_t i = 0; i < o->nhs && !err; i++) {
		const struct go_heap_span *h = &o->hs[i];
		for (uint32_t k = 0; k < h->nelems && !err; k++) {
			uint64_t id = h->first + k;
			if (!wanted(o, id, which))
				continue;
			uint32_t ty = o->type[id];
			struct hist_row *r;
			if (ty) {
				r = &hs.rows[row_of[ty] - 1];
			} else {
				go_unknown_name(t, go, o, id, name, sizeof(name));
				if (!(r = hist_row(&hs, name))) {
					err = memdbg_enomem;
					break;
				}
			}
			const struct go_objtype *ot = ty ? &o->otypes[ty] : NULL;
			r->typed = ty != 0;
			r->arrays = ot && ot->count && !split;
			r->elements += ot ? ot->count : 0;
			r->count++;
			r->bytes += h->elemsize;
			unsigned src = o->type[id] && o->src[id] < 7 ? o->src[id] : 0;
			unsigned ks = src * 3 + (h->noscan ? 2 : h->heap_bits ? 1 : 0);
			if (!r->src[ks]++)
				r->src_example[ks] = id;
			totals[0]++;
			totals[1] += h->elemsize;
			totals[2] += ty != 0;
			totals[3] += ty ? h->elemsize : 0;
		}
	}
	free(row_of);
	if (!err) {
		/* Rows no object was counted in (types of objects not shown) stay out. */
		qsort(hs.rows, hs.n, sizeof(*hs.rows), hist_cmp);
		if (memdbg_printer_json(p))
			memdbg_begin_array(p, "types", NULL);
		else
			memdbg_note(p, "%10s %14s %s%s", "count", "bytes", "type", why ? "  <- source" : "");
		for (size_t i = 0; i < hs.n && i < top && hs.rows[i].count; i++)
			print_hist_row(o, p, &hs.rows[i], why);
		if (memdbg_printer_json(p))
			memdbg_end_array(p);
	}
	hist_free(&hs);
	return err;
}

static struct memdbg_error *run_histogram(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct memdbg_go *go;
	struct go_objects *o;
	enum liveness which;
	uint64_t top;
	struct memdbg_error *err;
	const char *by = memdbg_arg_value(a, "--by");
	if (by && strcmp(by, "type") && strcmp(by, "class"))
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "histogram: --by wants type or class, not '%s'", by);
	bool by_class = by && !strcmp(by, "class");
	if ((err = parse_liveness(a, LIVE_ONLY, &which)) || (err = memdbg_arg_u64(a, "--top", 30, UINT32_MAX, &top)) ||
	    (err = open_objects(t, p, &go, &o)))
		return err;
	uint64_t totals[4] = { 0 };  /* objects, bytes, typed objects, typed bytes */
	err = by_class ? histogram_by_class(go, o, p, which, top, totals)
		       : histogram_by_type(t, go, o, p, which, top, memdbg_arg_flag(a, "--split-arrays"),
					   memdbg_arg_flag(a, "--why"), totals);
	if (err)
		return err;
	memdbg_begin_object(p, "totals", "Totals");
	memdbg_field_str(p, "objects_shown", which == LIVE_ONLY ? "live" : which == GARBAGE_ONLY ? "garbage" : "all");
	memdbg_field_u64(p, "objects", totals[0]);
	memdbg_field_u64(p, "bytes", totals[1]);
	memdbg_field_u64(p, "typed_objects", totals[2]);
	memdbg_field_u64(p, "typed_bytes", totals[3]);
	memdbg_field_pct(p, "typed_pct", totals[1] ? 100.0 * totals[3] / totals[1] : 100.0);
	memdbg_end_object(p);
	print_problems(o, p);
	return NULL;
}

/* ---- objects ---- */

/* A mask as one hex number, bit i = word i ("0x0" when empty). */
static char *mask_hex(const uint8_t *mask, uint64_t words)
{
	size_t nbytes = (size_t)(words + 7) / 8;
	char *s = malloc(2 * nbytes + 3);
	if (!s)
		return NULL;
	size_t len = 0, top = nbytes;
	while (top > 1 && !mask[top - 1])
		top--;
	len += (size_t)sprintf(s, "0x%x", top ? mask[top - 1] : 0);
	for (size_t i = top - 1; i-- > 0;)
		len += (size_t)sprintf(s + len, "%02x", mask[i]);
	return s;
}

static const char *const check_names[] = { "untyped", "agrees", "partial", "contradicts", "no record" };

static struct memdbg_error *run_objects(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct memdbg_go *go;
	struct go_objects *o;
	enum liveness which;
	uint64_t limit;
	struct memdbg_error *err;
	const char *type_filter = memdbg_arg_value(a, "--type");
	bool why = memdbg_arg_flag(a, "--why"), check = memdbg_arg_flag(a, "--check-types");
	bool json = memdbg_printer_json(p);
	if ((err = parse_liveness(a, ALL, &which)) ||
	    (err = memdbg_arg_u64(a, "--limit", UINT64_MAX, UINT64_MAX, &limit)) || (err = open_objects(t, p, &go, &o)))
		return err;
	struct memdbg_col cols[8] = {
		{ "addr", MEMDBG_COL_HEX, 14 },
		{ "size", MEMDBG_COL_U64, 8 },
		{ "live", MEMDBG_COL_BOOL, 4 },
		{ "type", MEMDBG_COL_STR, why || check ? -MEMDBG_NAME_WIDTH : -1, MEMDBG_NAME_WIDTH },
	};
	size_t ncols = 4;
	if (why) {
		cols[ncols++] = (struct memdbg_col){ "unknown", MEMDBG_COL_STR, -24 };
		cols[ncols++] = (struct memdbg_col){ "type_source", MEMDBG_COL_STR, check ? -40 : -1 };
	}
	if (check) {
		cols[ncols++] = (struct memdbg_col){ "check", MEMDBG_COL_STR, -1 };
		if (json) {
			cols[ncols++] = (struct memdbg_col){ "type_mask", MEMDBG_COL_STR, -1 };
			cols[ncols++] = (struct memdbg_col){ "gc_mask", MEMDBG_COL_STR, -1 };
		}
	}
	uint64_t shown = 0, matched = 0, verdicts[5] = { 0 };
	memdbg_table_begin(p, "objects", cols, ncols);
	for (size_t i = 0; i < o->nhs && !err; i++) {
		const struct go_heap_span *h = &o->hs[i];
		for (uint32_t k = 0; k < h->nelems; k++) {
			uint64_t id = h->first + k;
			if (!wanted(o, id, which))
				continue;
			const char *name = go_objtype_name(o, id);
			if (type_filter && (!name || !strstr(name, type_filter)))
				continue;
			matched++;
			uint8_t *tmask = NULL, *gmask = NULL;
			uint64_t words = 0;
			enum go_type_check verdict = check ? go_check_type(t, go, o, id, &tmask, &gmask, &words)
							   : GO_CHECK_UNTYPED;
			verdicts[verdict]++;
			if (shown < limit) {
				char unknown[256], src[512];
				char *th = tmask ? mask_hex(tmask, words) : NULL, *gh = gmask ? mask_hex(gmask, words) : NULL;
				if (why) {
					go_unknown_name(t, go, o, id, unknown, sizeof(unknown));
					go_type_source(t, go, o, id, src, sizeof(src));
				}
				struct memdbg_val v[8] = { { .u = h->start + (uint64_t)k * h->elemsize },
							   { .u = h->elemsize },
							   { .u = go_bit(o->live, id) },
							   { .s = name, .null = !name } };
				size_t n = 4;
				if (why) {
					v[n++] = (struct memdbg_val){ .s = unknown, .null = name != NULL };
					v[n++] = (struct memdbg_val){ .s = src };
				}
				if (check) {
					v[n++] = (struct memdbg_val){ .s = check_names[verdict] };
					if (json) {
						v[n++] = (struct memdbg_val){ .s = th, .null = !th };
						v[n++] = (struct memdbg_val){ .s = gh, .null = !gh };
					}
				}
				memdbg_table_row(p, v);
				free(th);
				free(gh);
				shown++;
			}
			free(tmask);
			free(gmask);
		}
		err = memdbg_check_interrupt(p);
	}
	if (err)
		return err;
	memdbg_table_end(p);
	memdbg_begin_object(p, "totals", "Totals");
	memdbg_field_u64(p, "objects", matched);
	memdbg_field_u64(p, "shown", shown);
	if (check) {
		memdbg_field_u64(p, "types_agree", verdicts[GO_CHECK_AGREES]);
		memdbg_field_u64(p, "closures_partly_checked", verdicts[GO_CHECK_PARTIAL]);
		memdbg_field_u64(p, "typed_against_gc", verdicts[GO_CHECK_CONTRADICTS]);
		memdbg_field_u64(p, "typed_without_gc_record", verdicts[GO_CHECK_NO_RECORD]);
		memdbg_field_u64(p, "untyped", verdicts[GO_CHECK_UNTYPED]);
	}
	memdbg_end_object(p);
	if (check || why)
		print_problems(o, p);
	return NULL;
}

/* ---- object <addr> ---- */

static void print_pointer_target(struct memdbg_target *t, const struct go_objects *o, struct memdbg_printer *p,
				 uint64_t v)
{
	const struct go_heap_span *h;
	uint64_t slot;
	if (!v || !go_find_object(o, v, &h, &slot) || !go_bit(o->alloc, h->first + slot))
		return;
	uint64_t base = h->start + slot * h->elemsize;
	memdbg_begin_object(p, "points_to", "points to");
	memdbg_field_hex(p, "base", base);
	memdbg_field_u64(p, "offset", v - base);
	const char *name = go_objtype_name(o, h->first + slot);
	if (name)
		memdbg_field_str(p, "type", name);
	else
		memdbg_field_null(p, "type");
	memdbg_end_object(p);
}

static uint64_t peek_word(struct memdbg_target *t, uint64_t addr, bool *ok)
{
	uint64_t v = 0;
	struct memdbg_error *err = memdbg_read_u64(t, addr, &v);
	*ok = !err;
	memdbg_error_destroy(err);
	return v;
}

/* A string's bytes as text: "text" (quoted, escaped, cut at STRING_SHOWN bytes) and "len". */
#define STRING_SHOWN 64
static void print_string(struct memdbg_target *t, struct memdbg_printer *p, uint64_t data, uint64_t len, bool ok)
{
	char text[4 * STRING_SHOWN + 40];
	if (!ok || (len && !go_quote_string(t, data, len, STRING_SHOWN, text, sizeof(text))))
		return;
	memdbg_field_str(p, "text", len ? text : "\"\"");
	memdbg_field_u64(p, "len", len);
}

/* Fields of a typed object: one entry per struct field (arrays: the first elements). */
static void print_fields(struct memdbg_target *t, struct memdbg_go *go, const struct go_objects *o,
			 struct memdbg_printer *p, const struct go_type *ty, uint64_t addr, uint64_t size)
{
	memdbg_begin_array(p, "fields", "Fields");
	uint64_t nf = ty->kind == GO_KIND_STRUCT ? ty->nfields : 0;
	for (uint64_t i = 0; i < nf; i++) {
		const struct go_field *f = &ty->fields[i];
		const struct go_type *ft = go_type_at(t, go, f->type, NULL);
		memdbg_begin_object(p, NULL, f->name ? f->name : "?");
		memdbg_field_str(p, "name", f->name ? f->name : "?");
		memdbg_field_u64(p, "offset", f->offset);
		memdbg_field_str(p, "type", ft && ft->name ? ft->name : "?");
		bool ok;
		uint64_t v = peek_word(t, addr + f->offset, &ok);
		uint64_t fsize = ft ? ft->size : 8;
		if (!ok)
			memdbg_field_null(p, "value");
		else if (fsize < 8)
			memdbg_field_hex(p, "value", v & ((1ull << (8 * fsize)) - 1));
		else
			memdbg_field_hex(p, "value", v);
		if (ok && ft && ft->kind == GO_KIND_STRING) {
			uint64_t len = peek_word(t, addr + f->offset + 8, &ok);  /* sets ok: apart from the call that reads it */
			print_string(t, p, v, len, ok);
		}
		if (ok && ft && ft->ptrbytes)
			print_pointer_target(t, o, p, v);
		memdbg_end_object(p);
	}
	if (!nf) {
		/* No field names: the words, with the runtime's pointer bits. */
		for (uint64_t off = 0; off + 8 <= size && off < 4096; off += 8) {
			bool ok;
			uint64_t v = peek_word(t, addr + off, &ok);
			char label[32];
			snprintf(label, sizeof(label), "+%" PRIu64, off);
			memdbg_begin_object(p, NULL, label);
			memdbg_field_u64(p, "offset", off);
			if (ok)
				memdbg_field_hex(p, "value", v);
			else
				memdbg_field_null(p, "value");
			if (ok)
				print_pointer_target(t, o, p, v);
			memdbg_end_object(p);
		}
	}
	memdbg_end_array(p);
}

/* Where the object's type came from, and the candidates the GC's metadata refused. */
static void print_type_evidence(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o,
				struct memdbg_printer *p, uint64_t id)
{
	char src[512];
	go_type_source(t, go, o, id, src, sizeof(src));
	memdbg_field_str(p, "type_source", src);
	memdbg_begin_array(p, "rejected_types", "Rejected types");
	for (size_t i = 0; i < o->nrejections; i++) {
		const struct go_rejection *r = &o->rejections[i];
		if (r->id != id)
			continue;
		memdbg_begin_object(p, NULL, r->name);
		memdbg_field_str(p, "type", r->name);
		memdbg_field_u64(p, "count", r->count);
		memdbg_field_hex(p, "from", r->from);
		memdbg_end_object(p);
	}
	memdbg_end_array(p);
}

static struct memdbg_error *run_object(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	uint64_t addr;
	struct memdbg_go *go;
	struct go_objects *o;
	struct memdbg_error *err = memdbg_arg_address(a, &addr);
	if (err || (err = open_objects(t, p, &go, &o)))
		return err;
	const struct go_heap_span *h;
	uint64_t slot;
	memdbg_field_hex(p, "address", addr);
	if (!go_find_object(o, addr, &h, &slot)) {
		uint64_t off;
		char buf[64];
		const char *sym = memdbg_target_symbol_at(t, addr, &off, buf, sizeof(buf));
		if (sym) {
			memdbg_field_str(p, "kind", "global");
			memdbg_field_str(p, "symbol", sym);
			memdbg_field_u64(p, "offset", off);
		} else {
			memdbg_field_str(p, "kind", memdbg_readable(t, addr, 1) ? "other" : "unmapped");
			memdbg_note(p, "0x%" PRIx64 " is not in a Go heap object", addr);
		}
		return NULL;
	}
	uint64_t id = h->first + slot, base = h->start + slot * h->elemsize;
	const struct go_span *s = &go->spans[h->span];
	memdbg_field_str(p, "kind", "heap");
	memdbg_field_hex(p, "base", base);
	memdbg_field_u64(p, "offset", addr - base);
	memdbg_field_u64(p, "size", h->elemsize);
	memdbg_field_bool(p, "allocated", go_bit(o->alloc, id));
	memdbg_field_bool(p, "live", go_bit(o->live, id));
	const char *name = go_objtype_name(o, id);
	char text[512];
	bool json = memdbg_printer_json(p);
	if (name) {
		memdbg_field_str(p, "type", json ? name : memdbg_elide(name, MEMDBG_NAME_WIDTH, text, sizeof(text)));
	} else if (go_bit(o->alloc, id)) {
		go_unknown_name(t, go, o, id, text, sizeof(text));
		if (json)
			memdbg_field_null(p, "type");
		memdbg_field_str(p, json ? "unknown" : "type", text);
	} else {
		memdbg_field_null(p, "type");
	}
	if (go_bit(o->alloc, id) && (json || memdbg_arg_flag(a, "--why")))
		print_type_evidence(t, go, o, p, id);
	memdbg_begin_object(p, "span", "Span");
	memdbg_field_hex(p, "start", s->start);
	memdbg_field_u64(p, "pages", s->npages);
	memdbg_field_u64(p, "class", go_size_class(s->spanclass));
	memdbg_field_bool(p, "noscan", go_noscan(s->spanclass));
	memdbg_field_u64(p, "slot", slot);
	memdbg_end_object(p);
	if (!go_bit(o->alloc, id))
		return NULL;
	const struct go_objtype *ot = o->type[id] ? &o->otypes[o->type[id]] : NULL;
	const struct go_type *ty = ot && ot->type ? go_type_at(t, go, ot->type, NULL) : NULL;
	uint64_t data = base + (h->header ? 8 : 0);
	uint64_t len;
	if (go_string_data_len(t, go, o, id, &len))
		print_string(t, p, data, len, true);
	if (ty && !ot->count)
		print_fields(t, go, o, p, ty, data, h->elemsize);
	else
		print_fields(t, go, o, p, &(struct go_type){ 0 }, data, h->elemsize - (data - base));
	return NULL;
}

/* ---- roots ---- */

static const char *const root_kinds[] = { "global", "stack", "finalizer", "other" };

static struct memdbg_error *run_roots(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	const char *kind = memdbg_arg_value(a, "--kind");
	int want = -1;
	for (int k = 0; kind && k < 4; k++)
		if (!strcmp(kind, root_kinds[k]))
			want = k;
	if (kind && want < 0)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT,
					   "roots: --kind wants global, stack, finalizer or other, not '%s'", kind);
	uint64_t limit;
	struct memdbg_go *go;
	struct go_objects *o;
	struct memdbg_error *err;
	if ((err = memdbg_arg_u64(a, "--limit", UINT64_MAX, UINT64_MAX, &limit)) || (err = open_objects(t, p, &go, &o)))
		return err;
	static const struct memdbg_col cols[] = {
		{ "kind", MEMDBG_COL_STR, -9 },
		{ "slot", MEMDBG_COL_HEX, 14 },
		{ "target", MEMDBG_COL_HEX, 14 },
		{ "type", MEMDBG_COL_STR, -28, MEMDBG_NAME_WIDTH },
		{ "where", MEMDBG_COL_STR, -12 },
		{ "name", MEMDBG_COL_STR, -1 },
	};
	uint64_t counts[4] = { 0 }, shown = 0;
	memdbg_table_begin(p, "roots", cols, MEMDBG_ARRAY_SIZE(cols));
	for (size_t i = 0; i < o->nroots; i++) {
		const struct go_root *r = &o->roots[i];
		if (want >= 0 && (int)r->kind != want)
			continue;
		counts[r->kind]++;
		if (shown++ >= limit)
			continue;
		const char *name = go_objtype_name(o, r->object);
		struct memdbg_val v[6] = { { .s = root_kinds[r->kind] }, { .u = r->addr, .null = !r->addr },
					   { .u = r->target }, { .s = name, .null = !name },
					   { .s = r->where, .null = !r->where }, { .s = r->name } };
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	memdbg_begin_object(p, "totals", "Totals");
	for (int k = 0; k < 4; k++)
		memdbg_field_u64(p, root_kinds[k], counts[k]);
	memdbg_end_object(p);
	memdbg_begin_object(p, "stacks", "Stacks scanned");
	memdbg_field_u64(p, "frames", o->stack_frames);
	memdbg_field_u64(p, "conservative_frames", o->conservative_frames);
	memdbg_field_u64(p, "stack_objects", o->stack_objects);
	memdbg_field_u64(p, "stack_objects_reached", o->stack_objects_reached);
	memdbg_field_u64(p, "unscanned_stacks", o->conservative_stacks);
	memdbg_end_object(p);
	return NULL;
}

/* ---- table rows ---- */

static const struct memdbg_opt histogram_opts[] = {
	{ "--top", "N", "print the N largest rows (default 30)" },
	{ "--by", "WHAT", "type (default) or class (size class)" },
	{ "--split-arrays", NULL, "a row per [N]T instead of one []T row for all its backing arrays" },
	{ "--why", NULL, "say where each row's types came from (header, heap bits + referrer, ...)" },
	{ "--live", NULL, "only objects reachable from a root (default)" },
	{ "--garbage", NULL, "only allocated objects no root reaches (waiting for the sweep)" },
	{ "--all", NULL, "every allocated object" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_histogram = {
	.info = {
		.name = "histogram",
		.summary = "count and bytes of heap objects per type (or size class), with the typed share",
		.usage = "histogram [--top N] [--by type|class] [--split-arrays] [--why] [--live|--garbage|--all] [--json]",
		.help = "Types come from malloc headers and largeType where the runtime recorded them, then\n"
			"from typed pointers followed out of typed globals and typed objects, each accepted\n"
			"only when the slot's heap bits agree (or, noscan, when the type has no pointers).\n"
			"Bytes are slot bytes (size-class rounded).  The backing arrays of []T, whatever\n"
			"their length, share one '[]T' row (--split-arrays: a row per [N]T).  Untyped\n"
			"objects are named by what the runtime knows of them: 'noscan 112 B', 'tiny block'\n"
			"(16-byte noscan blocks of the tiny allocator; 'tiny block ([]uint8)' when a typed\n"
			"pointer reaches into one), 'unknown (48 B, ptr mask 0b1011)'\n"
			"(bit i: word i holds a pointer).  Long names lose their middle in text; JSON has\n"
			"them whole, with each row's sources.",
	},
	.opts = histogram_opts,
	.needs_target = true,
	.run = run_histogram,
};

static const struct memdbg_opt objects_opts[] = {
	{ "--live", NULL, "only reachable objects" },
	{ "--garbage", NULL, "only unreachable allocated objects" },
	{ "--all", NULL, "every allocated object (default)" },
	{ "--type", "TEXT", "only objects whose type name contains TEXT" },
	{ "--limit", "N", "print at most N rows" },
	{ "--why", NULL, "add where each type came from, and what an untyped object is" },
	{ "--check-types", NULL, "hold every object's type against the runtime's record of its slot again" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_objects = {
	.info = {
		.name = "objects",
		.summary = "every allocated heap object: address, slot size, live or garbage, type",
		.usage = "objects [--live|--garbage|--all] [--type TEXT] [--limit N] [--why] [--check-types] [--json]",
		.help = "Tiny allocations share 16-byte blocks; a block is one object here.\n"
			"--check-types lays each object's type over its slot as the runtime lays it out\n"
			"and compares the pointer words with what the runtime records for the slot (heap\n"
			"bits, malloc header, largeType, noscan): 'agrees', 'contradicts', 'partial'\n"
			"(closures: code pointer and DWARF's captured variables), 'no record'; JSON adds\n"
			"both masks (hex, bit i = word i of the slot).  typed_against_gc must be 0.",
	},
	.opts = objects_opts,
	.needs_target = true,
	.run = run_objects,
};

static const struct memdbg_opt object_opts[] = {
	{ "--why", NULL, "say where the type came from and which candidate types were refused" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_object = {
	.info = {
		.name = "object",
		.summary = "what is at an address: heap object (span, base, size, type, fields) or other",
		.usage = "object ADDR [--why] [--json]",
		.help = "Interior addresses are fine.  Pointer fields name the object they point to; string\n"
			"fields and string data show their text.  A type is only ever one the runtime's\n"
			"own record of the slot agrees with (malloc header, largeType, span heap bits,\n"
			"noscan); an object without one is named by what the runtime knows of it\n"
			"('noscan 112 B', 'tiny block', 'unknown (48 B, ptr mask 0b1011)').  --why\n"
			"(always in JSON: type_source, rejected_types) says where the type came from:\n"
			"header, large_type, or the typed word that pointed here with the evidence that\n"
			"confirmed it ('heap bits + referrer 0x... field .next', 'noscan + global main.buf').",
	},
	.opts = object_opts,
	.max_args = 1,
	.needs_target = true,
	.run = run_object,
};

static const struct memdbg_opt roots_opts[] = {
	{ "--kind", "K", "global, stack, finalizer or other" },
	{ "--limit", "N", "print at most N rows" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_roots = {
	.info = {
		.name = "roots",
		.summary = "the GC roots that point into the heap: globals, stacks, finalizers, other",
		.usage = "roots [--kind global|stack|finalizer|other] [--limit N] [--json]",
		.help = "Globals come from the modules' GC masks of data and bss, named by their symbols.\n"
			"Finalizers keep their function and the object's referents alive, not the object.\n"
			"Weak handles are listed under other; what they refer to is not held.",
	},
	.opts = roots_opts,
	.needs_target = true,
	.run = run_roots,
};
