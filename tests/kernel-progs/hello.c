/* The smallest program: prints a line and exits 0. */
#include <stdio.h>

int main(void)
{
	printf("hello from carve\n");
	return 0;
}
