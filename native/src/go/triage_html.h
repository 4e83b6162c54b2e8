/* triage_html.h - the HTML page of triage --html (one self-contained file, no network). */
#ifndef MEMDBG_GO_TRIAGE_HTML_H
#define MEMDBG_GO_TRIAGE_HTML_H

/* With html.h's style and data marks (html_write). */
extern const char triage_html[];

#endif /* MEMDBG_GO_TRIAGE_HTML_H */
