/* A non-Go executable, for memdbg's "not a Go program" error tests. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *p = malloc(64);
	snprintf(p, 64, "not a Go program\n");
	fputs(p, stdout);
	free(p);
	return 0;
}
