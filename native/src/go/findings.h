/* findings.h - the findings sections, for the findings command and triage. */
#ifndef MEMDBG_GO_FINDINGS_H
#define MEMDBG_GO_FINDINGS_H

#include "go/graph.h"

struct findings_opts {
	uint64_t min_goroutines, min_entries, min_pool_bytes, min_frag_bytes, min_finalizer_bytes;
};

void findings_default_opts(struct findings_opts *o);
/* Print the "sections" array and "total_findings"; *total (may be NULL) gets the count. */
struct memdbg_error *findings_print(struct memdbg_target *t, struct memdbg_printer *p, const struct findings_opts *opt,
				    size_t *total);

#endif /* MEMDBG_GO_FINDINGS_H */
