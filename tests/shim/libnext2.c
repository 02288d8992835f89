/* for t-dlnext: the next definition after libnext1 */
__attribute__((visibility("default"))) int gb_next_probe(void)
{
	return 2;
}
