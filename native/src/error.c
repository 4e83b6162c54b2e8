/* error.c - the one error type carried from the lowest layer to the front ends. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct memdbg_error {
	enum memdbg_error_code code;
	bool is_static;
	char *message;
};

struct memdbg_error memdbg_enomem_storage = {
	.code = MEMDBG_ERROR_NO_MEMORY, .is_static = true, .message = "out of memory",
};
struct memdbg_error memdbg_interrupted_storage = {
	.code = MEMDBG_ERROR_INTERRUPTED, .is_static = true, .message = "interrupted",
};

/* Length of the valid UTF-8 sequence at p that encodes a printable character (U+00A0 and up), or 0. */
static size_t printable_utf8(const unsigned char *p)
{
	unsigned c = p[0];
	size_t n;
	uint32_t cp;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)  /* also stops at the terminating NUL */
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates, past U+10FFFF, and the C1 controls (U+0080..U+009F). */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
	    cp < 0xa0)
		return 0;
	return n;
}

/*
 * Messages are one line of text, and they quote what the target holds (a
 * version string, a file name from NT_FILE, a path the user typed): every
 * byte that is not printable ASCII or part of printable UTF-8 -- control
 * characters, newlines, invalid UTF-8 -- is written as \xNN, so no target byte
 * reaches a terminal raw and the front ends always get valid UTF-8.
 */
static char *escape(const char *raw)
{
	size_t len = strlen(raw);
	char *out = malloc(4 * len + 1), *o = out;
	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)raw; *p;) {
		size_t n = *p >= 0x80 ? printable_utf8(p) : (*p >= 0x20 && *p < 0x7f);
		if (n) {
			memcpy(o, p, n);
			o += n;
			p += n;
		} else {
			o += sprintf(o, "\\x%02x", *p++);
		}
	}
	*o = '\0';
	return out;
}

struct memdbg_error *memdbg_error_vformat(enum memdbg_error_code code, const char *fmt, va_list ap)
{
	struct memdbg_error *err = malloc(sizeof(*err));
	if (!err)
		return &memdbg_enomem_storage;
	err->code = code;
	err->is_static = false;
	char *raw;
	if (vasprintf(&raw, fmt, ap) < 0) {
		free(err);
		return &memdbg_enomem_storage;
	}
	err->message = escape(raw);
	free(raw);
	if (!err->message) {
		free(err);
		return &memdbg_enomem_storage;
	}
	return err;
}

struct memdbg_error *memdbg_error_format(enum memdbg_error_code code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct memdbg_error *err = memdbg_error_vformat(code, fmt, ap);
	va_end(ap);
	return err;
}

struct memdbg_error *memdbg_error_os(const char *what, const char *path)
{
	int saved = errno;
	return memdbg_error_format(MEMDBG_ERROR_OS, "%s %s: %s", what, path, strerror(saved));
}

struct memdbg_error *memdbg_error_fault(uint64_t address, size_t size)
{
	return memdbg_error_format(MEMDBG_ERROR_FAULT,
				   "cannot read %zu bytes at 0x%" PRIx64 ": that memory is not in the core or process", size,
				   address);
}

struct memdbg_error *memdbg_error_truncated(const char *path, const char *what, uint64_t end, uint64_t size)
{
	return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
				   "%s is truncated: %s at byte %" PRIu64 ", past its end (the file has %" PRIu64 " bytes)",
				   path, what, end, size);
}

struct memdbg_error *memdbg_error_prefix(struct memdbg_error *err, const char *fmt, ...)
{
	if (!err || err->is_static)
		return err;
	char *prefix;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&prefix, fmt, ap);
	va_end(ap);
	if (n < 0)
		return err;
	char *joined, *escaped = escape(prefix);
	free(prefix);
	if (escaped && asprintf(&joined, "%s: %s", escaped, err->message) >= 0) {
		free(err->message);
		err->message = joined;
	}
	free(escaped);
	return err;
}

enum memdbg_error_code memdbg_error_code(const struct memdbg_error *err)
{
	return err->code;
}

const char *memdbg_error_message(const struct memdbg_error *err)
{
	return err->message;
}

void memdbg_error_destroy(struct memdbg_error *err)
{
	if (!err || err->is_static)
		return;
	free(err->message);
	free(err);
}
