/* bench/tinyplugin.c: the smallest possible CNI delegate (static, no libraries): answers ADD with
 * a fixed result and everything else with nothing. The benchmark uses it to see plexus's own
 * peak RSS, since a waited-for child's peak counts in the parent's rusage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	const char *cmd = getenv("CNI_COMMAND");
	char buf[4096];

	while (read(0, buf, sizeof(buf)) > 0)
		;
	if (cmd && strcmp(cmd, "ADD") == 0)
		printf("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"%s\",\"sandbox\":\"%"
		       "s\"}],"
		       "\"ips\":[{\"address\":\"192.0.2.1/24\",\"interface\":0}]}\n",
		       getenv("CNI_IFNAME"), getenv("CNI_NETNS"));
	return 0;
}
