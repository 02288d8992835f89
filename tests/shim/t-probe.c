/* For the bats tests: allocate SIZE in 64M chunks through the driver and
 * print how many landed in each tier and whether our status file
 * exists: "t1 N t2 N status yes". */
#include "common.h"

int main(int argc, char **argv)
{
	uint64_t total = 0;
	const char *why;
	int t1 = 0, t2 = 0;
	CUdeviceptr p;

	if (argc != 2 || gb_size_parse(argv[1], &total, &why) < 0)
		return fprintf(stderr, "usage: t-probe SIZE\n"), 100;
	setup();
	for (; total >= 64 * MiB; total -= 64 * MiB) {
		if (cuMemAlloc_v2(&p, 64 * MiB)) {
			printf("oom\n");
			return 1;
		}
		if (fakecuda_is_registered((void *)p))
			t2++;
		else
			t1++;
	}
	{
		const char *dir = getenv("GB_RUN_DIR");
		char path[512];

		gb_status_path(dir ? dir : "/run/greenboost", getpid(), path, sizeof(path));
		printf("t1 %d t2 %d status %s\n", t1, t2, access(path, F_OK) == 0 ? "yes" : "no");
	}
	return 0;
}
