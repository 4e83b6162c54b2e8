/* html.c - what the report pages share: the stylesheet, and writing a page with its data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "go/html.h"

const char html_style[] =
	"body { font: 14px/1.4 system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 0; color: #1d2329; background: #f5f6f8; }\n"
	"header { background: #1d2329; color: #fff; padding: 14px 24px; }\n"
	"header h1 { margin: 0; font-size: 20px; font-weight: 600; }\n"
	"header .sub { color: #b8c0c8; font-size: 13px; margin-top: 2px; word-break: break-all; }\n"
	"main { padding: 16px 24px 40px; max-width: 1400px; }\n"
	"section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; margin: 16px 0; padding: 12px 16px; }\n"
	"h2 { font-size: 16px; margin: 0 0 8px; }\n"
	".note { color: #5b6670; font-size: 12px; margin: 4px 0 8px; }\n"
	".cards { display: flex; flex-wrap: wrap; gap: 12px; }\n"
	".card { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 10px 14px; min-width: 160px; flex: 1; }\n"
	".card .k { color: #5b6670; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }\n"
	".card .v { font-size: 22px; font-weight: 600; margin: 2px 0; }\n"
	".card .x { color: #5b6670; font-size: 12px; font-variant-numeric: tabular-nums; }\n"
	"table { border-collapse: collapse; font-size: 13px; min-width: 60%; }\n"
	"th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eceef1; vertical-align: top; }\n"
	"th { color: #5b6670; font-weight: 600; background: #fafbfc; }\n"
	"td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }\n"
	"td.m { font-family: ui-monospace, 'DejaVu Sans Mono', monospace; font-size: 12px; word-break: break-all; }\n"
	"tr.hit td { background: #fff4e5; }\n"
	"details { margin: 4px 0; }\n"
	"summary { cursor: pointer; }\n"
	".items { font-family: ui-monospace, 'DejaVu Sans Mono', monospace; font-size: 12px; white-space: pre-wrap; margin: 4px 0 8px 16px; }\n"
	".error { background: #fdecea; border-color: #f5c2bd; color: #8a1c12; }\n"
	"#tip { position: fixed; pointer-events: none; background: #1d2329; color: #fff; font-size: 12px; padding: 4px 8px;\n"
	"       border-radius: 4px; display: none; white-space: pre; z-index: 10; }\n"
	".legend { display: flex; align-items: center; gap: 8px; font-size: 12px; color: #5b6670; margin: 6px 0; }\n"
	".grad { width: 200px; height: 10px; background: linear-gradient(90deg, hsl(0,70%,48%), hsl(60,70%,48%), hsl(120,55%,40%)); }\n";

void html_buf_write(void *arg, const char *s, size_t n)
{
	struct html_buf *b = arg;
	if (b->oom || !n)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 1 << 16;
		while (cap < b->len + n)
			cap *= 2;
		char *nd = realloc(b->d, cap);
		if (!nd) {
			b->oom = true;
			return;
		}
		b->d = nd;
		b->cap = cap;
	}
	memcpy(b->d + b->len, s, n);
	b->len += n;
}

static bool write_escaped(FILE *fp, const char *s, size_t n)
{
	size_t from = 0;
	for (size_t i = 0; i < n; i++) {
		const char *esc = s[i] == '<' ? "\\u003c" : s[i] == '>' ? "\\u003e" : s[i] == '&' ? "\\u0026" : NULL;
		if (!esc)
			continue;
		if (fwrite(s + from, 1, i - from, fp) != i - from || fputs(esc, fp) == EOF)
			return false;
		from = i + 1;
	}
	return fwrite(s + from, 1, n - from, fp) == n - from;
}

struct memdbg_error *html_write(const char *path, const char *tmpl, const char *data, size_t len)
{
	const char *style = strstr(tmpl, HTML_STYLE_MARK), *mark = strstr(tmpl, HTML_DATA_MARK);
	if (!style || !mark || mark < style)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "the page template has no style or data mark");
	FILE *fp = fopen(path, "w");
	if (!fp)
		return memdbg_error_os("cannot write", path);
	const char *after_style = style + strlen(HTML_STYLE_MARK);
	size_t head = (size_t)(style - tmpl), middle = (size_t)(mark - after_style);
	bool ok = fwrite(tmpl, 1, head, fp) == head && fputs(html_style, fp) != EOF &&
		  fwrite(after_style, 1, middle, fp) == middle && write_escaped(fp, data, len) &&
		  fputs(mark + strlen(HTML_DATA_MARK), fp) != EOF;
	if (fclose(fp) != 0)
		ok = false;
	if (!ok) {
		struct memdbg_error *err = memdbg_error_os("cannot write", path);
		unlink(path);
		return err;
	}
	return NULL;
}
