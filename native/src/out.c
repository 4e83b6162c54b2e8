/*
 * out.c - the one output sink: commands describe fields and table rows, and
 * this renders them as aligned text or as one JSON document per command.
 * Output is buffered and handed to the front end's write callback in chunks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_DEPTH 16
#define FLUSH_AT (64 * 1024)
#define KEY_WIDTH 22
#define MAX_DAMAGED 32

struct memdbg_printer {
	const struct memdbg_out *out;
	char *buf;
	size_t len, cap;
	bool oom;
	int depth;
	bool first[MAX_DEPTH];  /* JSON: no comma before the next member at this depth */
	char open[MAX_DEPTH];   /* JSON: the closer of the container at each depth, ']' or '}' */
	const struct memdbg_col *cols;
	size_t ncols;
	unsigned long polls;
	int last_pct;
	const char *last_what;
	/* Figures that failed their plausibility checks (memdbg_damaged), distinct
	 * lines kept for the JSON "damaged" member; and parts that failed
	 * (memdbg_partial).  Either makes the command's result partial. */
	char *damaged[MAX_DAMAGED];
	size_t ndamaged, nkept;
	char *partial;
};

static void flush(struct memdbg_printer *p)
{
	if (p->len)
		p->out->write(p->out->arg, p->buf, p->len);
	p->len = 0;
}

static void put(struct memdbg_printer *p, const char *s, size_t n)
{
	if (n == 0)
		return;
	if (p->len + n > p->cap) {
		size_t cap = p->cap ? p->cap : FLUSH_AT * 2;
		while (cap < p->len + n)
			cap *= 2;
		char *b = realloc(p->buf, cap);
		if (!b) {
			flush(p);
			p->out->write(p->out->arg, s, n);
			return;
		}
		p->buf = b;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	if (p->len >= FLUSH_AT)
		flush(p);
}

static void puts_(struct memdbg_printer *p, const char *s)
{
	put(p, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3))) putf(struct memdbg_printer *p, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		put(p, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big)
		return;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	put(p, big, (size_t)n);
	free(big);
}

static void json_string(struct memdbg_printer *p, const char *s)
{
	put(p, "\"", 1);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\') {
			char e[2] = { '\\', (char)*c };
			put(p, e, 2);
		} else if (*c == '\n') {
			put(p, "\\n", 2);
		} else if (*c == '\t') {
			put(p, "\\t", 2);
		} else if (*c < 0x20 || *c == 0x7f) {
			putf(p, "\\u%04x", *c);
		} else {
			put(p, (const char *)c, 1);
		}
	}
	put(p, "\"", 1);
}

/* JSON: the separator and key before a member of the current object. */
static void json_key(struct memdbg_printer *p, const char *key)
{
	if (!p->first[p->depth])
		put(p, ",", 1);
	p->first[p->depth] = false;
	if (key) {
		json_string(p, key);
		put(p, ":", 1);
	}
}

static void text_key(struct memdbg_printer *p, const char *key)
{
	putf(p, "%*s%-*s ", 2 * (p->depth - 1), "", KEY_WIDTH - 2 * (p->depth - 1), key);
}

/* JSON: enter a container closed by `closer`. */
static void enter(struct memdbg_printer *p, char closer)
{
	if (p->depth + 1 < MAX_DEPTH)
		p->depth++;
	p->first[p->depth] = true;
	p->open[p->depth] = closer;
}

static void leave(struct memdbg_printer *p)
{
	if (p->depth > 1)
		p->depth--;
}

static void close_to(struct memdbg_printer *p, int depth)
{
	while (p->depth > depth && p->depth > 1) {
		if (p->out->json)
			put(p, &p->open[p->depth], 1);
		leave(p);
	}
}

void memdbg_printer_fail(struct memdbg_printer *p, const char *message)
{
	/* Close whatever the command left open, so the document stays well formed. */
	if (p->out->json)
		memdbg_printer_unwind(p, 1, message);
}

int memdbg_printer_depth(const struct memdbg_printer *p)
{
	return p->depth;
}

void memdbg_printer_unwind(struct memdbg_printer *p, int depth, const char *message)
{
	close_to(p, depth);
	memdbg_field_str(p, "error", message);
}

struct memdbg_printer *memdbg_printer_create(const struct memdbg_out *out)
{
	struct memdbg_printer *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->out = out;
	p->depth = 1;
	p->last_pct = -1;
	p->first[1] = true;
	if (out->json)
		put(p, "{", 1);
	return p;
}

/* JSON: the document's "damaged" member, at its top level, before it closes. */
static void put_damaged(struct memdbg_printer *p)
{
	if (!p->out->json || !p->nkept)
		return;
	close_to(p, 1);
	json_key(p, "damaged");
	put(p, "[", 1);
	for (size_t i = 0; i < p->nkept; i++) {
		if (i)
			put(p, ",", 1);
		json_string(p, p->damaged[i]);
	}
	put(p, "]", 1);
}

void memdbg_printer_destroy(struct memdbg_printer *p)
{
	if (!p)
		return;
	put_damaged(p);
	if (p->out->json)
		put(p, "}\n", 2);
	flush(p);
	for (size_t i = 0; i < p->nkept; i++)
		free(p->damaged[i]);
	free(p->partial);
	free(p->buf);
	free(p);
}

void memdbg_damaged(struct memdbg_printer *p, const char *fmt, ...)
{
	char *s;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		p->ndamaged++;
		return;
	}
	for (char *c = s; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	/* The same damage seen again (triage's sections load the same spans) is one note. */
	for (size_t i = 0; i < p->nkept; i++)
		if (!strcmp(p->damaged[i], s)) {
			free(s);
			return;
		}
	p->ndamaged++;
	if (!p->out->json) {
		putf(p, "%*sdamaged: %s\n", 2 * (p->depth - 1), "", s);
	}
	if (p->nkept < MAX_DAMAGED)
		p->damaged[p->nkept++] = s;
	else
		free(s);
}

void memdbg_partial(struct memdbg_printer *p, const char *fmt, ...)
{
	if (p->partial)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&p->partial, fmt, ap) < 0)
		p->partial = NULL;
	va_end(ap);
}

struct memdbg_error *memdbg_printer_result(const struct memdbg_printer *p)
{
	if (p->partial)
		return memdbg_error_format(MEMDBG_ERROR_PARTIAL, "partial: %s%s", p->partial,
					   p->ndamaged ? "; figures damaged (see the damaged notes)" : "");
	if (!p->ndamaged)
		return NULL;
	if (p->ndamaged == 1)
		return memdbg_error_format(MEMDBG_ERROR_PARTIAL, "partial: damaged: %s", p->damaged[0]);
	return memdbg_error_format(MEMDBG_ERROR_PARTIAL, "partial: %zu figures damaged, the first: %s", p->ndamaged,
				   p->damaged[0]);
}

void memdbg_printer_flush(struct memdbg_printer *p)
{
	flush(p);
}

void memdbg_printer_next_document(struct memdbg_printer *p, const char *command)
{
	if (p->out->json) {
		put_damaged(p);
		close_to(p, 1);
		for (size_t i = 0; i < p->nkept; i++)
			free(p->damaged[i]);
		p->nkept = 0;
		put(p, "}\n{", 3);
		p->first[1] = true;
		memdbg_field_str(p, "command", command);
	}
	flush(p);
}

bool memdbg_printer_json(const struct memdbg_printer *p)
{
	return p->out->json;
}

void memdbg_progress(struct memdbg_printer *p, const char *what, uint64_t done, uint64_t total)
{
	if (!p->out->progress || !total)
		return;
	int pct = done >= total ? 100 : (int)(done * 100 / total);
	if (pct == p->last_pct && what == p->last_what)
		return;
	p->last_pct = pct;
	p->last_what = what;
	p->out->progress(p->out->arg, what, done, total);
}

struct memdbg_error *memdbg_check_interrupt(struct memdbg_printer *p)
{
	/* Polling is a Python call in the debuggers: do it every so often, not per span. */
	if (!p->out->interrupted || ++p->polls % 1024)
		return NULL;
	return p->out->interrupted(p->out->arg) ? memdbg_interrupted : NULL;
}

struct memdbg_error *memdbg_poll_interrupt(struct memdbg_printer *p)
{
	return p->out->interrupted && p->out->interrupted(p->out->arg) ? memdbg_interrupted : NULL;
}

void memdbg_begin_object(struct memdbg_printer *p, const char *key, const char *title)
{
	if (p->out->json) {
		json_key(p, key);
		put(p, "{", 1);
	} else {
		putf(p, "%*s%s:\n", 2 * (p->depth - 1), "", title ? title : key);
	}
	enter(p, '}');
}

void memdbg_end_object(struct memdbg_printer *p)
{
	leave(p);
	if (p->out->json)
		put(p, "}", 1);
}

void memdbg_begin_array(struct memdbg_printer *p, const char *key, const char *title)
{
	if (p->out->json) {
		json_key(p, key);
		put(p, "[", 1);
		enter(p, ']');
	} else if (title) {
		putf(p, "%*s%s:\n", 2 * (p->depth - 1), "", title);
	}
}

void memdbg_end_array(struct memdbg_printer *p)
{
	if (!p->out->json)
		return;
	leave(p);
	put(p, "]", 1);
}

static void scalar(struct memdbg_printer *p, const char *key, const char *json, const char *text)
{
	if (p->out->json) {
		json_key(p, key);
		puts_(p, json);
	} else {
		text_key(p, key);
		puts_(p, text);
		put(p, "\n", 1);
	}
}

void memdbg_field_u64(struct memdbg_printer *p, const char *key, uint64_t v)
{
	char b[32];
	snprintf(b, sizeof(b), "%" PRIu64, v);
	scalar(p, key, b, b);
}

void memdbg_field_i64(struct memdbg_printer *p, const char *key, int64_t v)
{
	char b[32];
	snprintf(b, sizeof(b), "%" PRId64, v);
	scalar(p, key, b, b);
}

void memdbg_field_hex(struct memdbg_printer *p, const char *key, uint64_t v)
{
	char j[48], t[32];
	snprintf(t, sizeof(t), "0x%" PRIx64, v);
	snprintf(j, sizeof(j), "\"%s\"", t);
	scalar(p, key, j, t);
}

void memdbg_field_str(struct memdbg_printer *p, const char *key, const char *v)
{
	if (!v) {
		memdbg_field_null(p, key);
		return;
	}
	if (p->out->json) {
		json_key(p, key);
		json_string(p, v);
	} else {
		text_key(p, key);
		puts_(p, v);
		put(p, "\n", 1);
	}
}

void memdbg_field_bool(struct memdbg_printer *p, const char *key, bool v)
{
	scalar(p, key, v ? "true" : "false", v ? "yes" : "no");
}

void memdbg_field_pct(struct memdbg_printer *p, const char *key, double v)
{
	char j[32], t[32];
	snprintf(j, sizeof(j), "%.2f", v);
	snprintf(t, sizeof(t), "%.1f%%", v);
	scalar(p, key, j, t);
}

void memdbg_field_null(struct memdbg_printer *p, const char *key)
{
	scalar(p, key, "null", "-");
}

void memdbg_field_hex_list(struct memdbg_printer *p, const char *key, const uint64_t *v, size_t n)
{
	if (p->out->json) {
		json_key(p, key);
		put(p, "[", 1);
		for (size_t i = 0; i < n; i++)
			putf(p, "%s\"0x%" PRIx64 "\"", i ? "," : "", v[i]);
		put(p, "]", 1);
		return;
	}
	text_key(p, key);
	for (size_t i = 0; i < n; i++)
		putf(p, "%s0x%" PRIx64, i ? " " : "", v[i]);
	put(p, "\n", 1);
}

void memdbg_note(struct memdbg_printer *p, const char *fmt, ...)
{
	if (p->out->json)
		return;
	char *s;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	put(p, s, (size_t)n);
	put(p, "\n", 1);
	free(s);
}

void memdbg_table_begin(struct memdbg_printer *p, const char *key, const struct memdbg_col *cols, size_t ncols)
{
	p->cols = cols;
	p->ncols = ncols;
	if (p->out->json) {
		json_key(p, key);
		put(p, "[", 1);
		enter(p, ']');
		return;
	}
	putf(p, "%*s", 2 * (p->depth - 1), "");
	for (size_t i = 0; i < ncols; i++)
		putf(p, "%s%*s", i ? " " : "", cols[i].width, cols[i].name);
	put(p, "\n", 1);
}

const char *memdbg_elide(const char *s, size_t max, char *buf, size_t size)
{
	size_t n = strlen(s);
	if (n <= max || max < 8 || size <= max)
		return s;
	size_t head = (max - 3) / 2, tail = max - 3 - head;
	/* Cut on UTF-8 character boundaries. */
	while (head && ((unsigned char)s[head] & 0xc0) == 0x80)
		head--;
	while (tail && ((unsigned char)s[n - tail] & 0xc0) == 0x80)
		tail--;
	snprintf(buf, size, "%.*s...%s", (int)head, s, s + n - tail);
	return buf;
}

static void text_cell(struct memdbg_printer *p, const struct memdbg_col *c, const struct memdbg_val *v)
{
	char b[64], e[256];
	const char *s = b;
	if (v->null)
		s = "-";
	else
		switch (c->kind) {
		case MEMDBG_COL_U64: snprintf(b, sizeof(b), "%" PRIu64, v->u); break;
		case MEMDBG_COL_I64: snprintf(b, sizeof(b), "%" PRId64, (int64_t)v->u); break;
		case MEMDBG_COL_HEX: snprintf(b, sizeof(b), "0x%" PRIx64, v->u); break;
		case MEMDBG_COL_PCT: snprintf(b, sizeof(b), "%.1f%%", v->d); break;
		case MEMDBG_COL_BOOL: s = v->u ? "yes" : "no"; break;
		case MEMDBG_COL_STR:
			s = v->s ? v->s : "-";
			if (c->elide > 0)
				s = memdbg_elide(s, (size_t)c->elide, e, sizeof(e));
			break;
		}
	putf(p, "%*s", c->width, s);
}

static void json_cell(struct memdbg_printer *p, const struct memdbg_col *c, const struct memdbg_val *v)
{
	if (v->null) {
		puts_(p, "null");
		return;
	}
	switch (c->kind) {
	case MEMDBG_COL_U64: putf(p, "%" PRIu64, v->u); break;
	case MEMDBG_COL_I64: putf(p, "%" PRId64, (int64_t)v->u); break;
	case MEMDBG_COL_HEX: putf(p, "\"0x%" PRIx64 "\"", v->u); break;
	case MEMDBG_COL_PCT: putf(p, "%.2f", v->d); break;
	case MEMDBG_COL_BOOL: puts_(p, v->u ? "true" : "false"); break;
	case MEMDBG_COL_STR:
		if (v->s)
			json_string(p, v->s);
		else
			puts_(p, "null");
		break;
	}
}

void memdbg_table_row(struct memdbg_printer *p, const struct memdbg_val *vals)
{
	if (p->out->json) {
		json_key(p, NULL);
		put(p, "{", 1);
		for (size_t i = 0; i < p->ncols; i++) {
			if (i)
				put(p, ",", 1);
			json_string(p, p->cols[i].name);
			put(p, ":", 1);
			json_cell(p, &p->cols[i], &vals[i]);
		}
		put(p, "}", 1);
		return;
	}
	putf(p, "%*s", 2 * (p->depth - 1), "");
	for (size_t i = 0; i < p->ncols; i++) {
		if (i)
			put(p, " ", 1);
		text_cell(p, &p->cols[i], &vals[i]);
	}
	put(p, "\n", 1);
}

void memdbg_table_end(struct memdbg_printer *p)
{
	memdbg_end_array(p);
}
