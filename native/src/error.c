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

struct memdbg_error *memdbg_error_vformat(enum memdbg_error_code code, const char *fmt, va_list ap)
{
	struct memdbg_error *err = malloc(sizeof(*err));
	if (!err)
		return &memdbg_enomem_storage;
	err->code = code;
	err->is_static = false;
	if (vasprintf(&err->message, fmt, ap) < 0) {
		free(err);
		return &memdbg_enomem_storage;
	}
	/* Messages are one line: fold any newline that target data smuggled in. */
	for (char *p = err->message; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
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
	char *joined;
	if (asprintf(&joined, "%s: %s", prefix, err->message) >= 0) {
		free(err->message);
		err->message = joined;
	}
	free(prefix);
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
