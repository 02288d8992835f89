/* gb-stat top where gb-stat was built without ncurses (./configure found
 * no ncursesw): say so, and what does the same in plain text. */
#include "stat/stat.h"

int gb_stat_top(const char *root, const char *const *dirs, int ndirs, double interval)
{
	(void)root, (void)dirs, (void)ndirs, (void)interval;
	gb_log(GB_LOG_ERROR, "built without ncurses: no live view (install libncurses-dev and rebuild); "
			     "'gb-stat -w 1' refreshes the plain view");
	return GB_EXIT_SYS;
}
