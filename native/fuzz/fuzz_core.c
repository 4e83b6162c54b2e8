/*
 * fuzz_core - the ELF core reader: each input is a whole core file, opened
 * with a fixed real executable; when it opens, the commands run on it.
 *
 *   MEMDBG_FUZZ_EXE    the executable (required): the Go sample the seed
 *                      cores come from, so that inputs close to a real core
 *                      pass the build-id check and reach the decoders
 *   MEMDBG_FUZZ_CMDS   default "go-info --jobs 1;memstats --json --jobs 1"
 *
 * Seeds: native/fuzz/corpus/core/ (small crafted and truncated headers) and
 * the minimized real cores tests/fuzz_seeds.py writes (headers, notes and
 * the executable's first page of a cached core, nothing else).
 */
#include "harness.h"

static const char *exe;
static char *scratch;

static void cleanup(void)
{
	if (scratch)
		unlink(scratch);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	exe = fuzz_env("MEMDBG_FUZZ_EXE", NULL);
	if (access(exe, R_OK) != 0)
		fuzz_die("MEMDBG_FUZZ_EXE %s: %s", exe, strerror(errno));
	fuzz_parse_cmds("go-info --jobs 1;memstats --json --jobs 1");
	scratch = fuzz_scratch("core");
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	fuzz_write_file(scratch, data, size);
	struct memdbg_target *t = NULL;
	struct memdbg_error *err = memdbg_target_open_core(scratch, exe, &t);
	if (err) {
		fuzz_check_error(err, NULL);
		return 0;
	}
	fuzz_run_cmds(t);
	memdbg_target_destroy(t);
	return 0;
}
