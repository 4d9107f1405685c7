/*
 * cli.h -- the administration commands (`hookgate COMMAND`).
 */
#ifndef HOOKGATE_CLI_H
#define HOOKGATE_CLI_H

/*
 * Runs the command argv[0] with its arguments. config_opt is the -c value
 * or NULL; argv0 the program's own argv[0]. Returns the exit status:
 * 0 success, 1 a failure it explained, 2 bad usage.
 */
int	 cli_main(int argc, char **argv, const char *config_opt,
	    const char *argv0);

/* Prints usage to stderr (or stdout when to_stdout) */
void	 cli_usage(int to_stdout);

#endif
