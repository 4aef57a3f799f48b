/* bench/nofsync.c: an LD_PRELOAD library that makes fsync(2) and fdatasync(2) no-ops, so that
 * bench/plexus_bench.py can tell how much of a call the durable plan write costs. Measurement
 * only: never loaded by anything that keeps state. */
int fsync(int fd);
int fdatasync(int fd);

int fsync(int fd)
{
	(void)fd;
	return 0;
}

int fdatasync(int fd)
{
	(void)fd;
	return 0;
}
