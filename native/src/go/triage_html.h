/* triage_html.h - the HTML page of triage --html (one self-contained file, no network). */
#ifndef MEMDBG_GO_TRIAGE_HTML_H
#define MEMDBG_GO_TRIAGE_HTML_H

/* Where the report's JSON goes (its '<', '>' and '&' escaped as \u003c ...). */
#define TRIAGE_HTML_DATA "@@TRIAGE_DATA@@"

extern const char triage_html[];

#endif /* MEMDBG_GO_TRIAGE_HTML_H */
