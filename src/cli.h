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

/* Prints usage to stderr (or stdout when to_stdout). */
void	 cli_usage(int to_stdout);

struct config;

/*
 * Finds and loads the config as every command does. Returns it (the caller
 * frees it with config_free()) and, if path is non-NULL, its malloc'd path
 * in *path; or prints why and returns NULL.
 */
struct config *cli_config(const char *opt, const char *argv0, char **path);

/* `check` (cli_check.c). */
int	 cmd_check(int argc, char **argv, const char *opt, const char *argv0);

/* The commands that work on the store (cli_store.c); each returns the exit
 * status. argv[0] is the command name. */
int	 cmd_status(int argc, char **argv, const struct config *);
int	 cmd_list(int argc, char **argv, const struct config *);
int	 cmd_show(int argc, char **argv, const struct config *);
int	 cmd_replay(int argc, char **argv, const struct config *,
	    const char *path);
int	 cmd_purge(int argc, char **argv, const struct config *);
int	 cmd_drain(int argc, char **argv, const char *path);

#endif
