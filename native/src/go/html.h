/* html.h - the self-contained report pages (triage --html, diff --html): one style, data as escaped JSON. */
#ifndef MEMDBG_GO_HTML_H
#define MEMDBG_GO_HTML_H

#include "internal.h"

/* Where a page template takes the shared stylesheet and the report's JSON. */
#define HTML_STYLE_MARK "@@STYLE@@"
#define HTML_DATA_MARK "@@DATA@@"

extern const char html_style[];

/* A growing buffer that a struct memdbg_out can write into (out.arg = the buffer). */
struct html_buf {
	char *d;
	size_t len, cap;
	bool oom;
};
void html_buf_write(void *arg, const char *s, size_t n);

/*
 * Write tmpl to path with its marks replaced: the stylesheet, and the JSON
 * in data ('<', '>' and '&' as \u escapes, so nothing in it ends the
 * <script> element holding it).
 */
struct memdbg_error *html_write(const char *path, const char *tmpl, const char *data, size_t len);

#endif /* MEMDBG_GO_HTML_H */
