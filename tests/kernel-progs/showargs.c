/* Prints its arguments and environment, one per line, so the tests can check
 * what the kernel passed from the ramdisk's cmd and env files. */
#include <stdio.h>

int main(int argc, char **argv, char **envp)
{
	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	for (char **e = envp; *e; e++)
		printf("env=%s\n", *e);
	return 0;
}
