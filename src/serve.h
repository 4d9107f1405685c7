/*
 * serve.h -- FastCGI serving: the accept loop that every FastCGI responder
 * runs, and `hookgate serve`, which binds its own socket and keeps worker
 * processes running that loop (for mod_proxy_fcgi, nginx, spawn-fcgi).
 */
#ifndef HOOKGATE_SERVE_H
#define HOOKGATE_SERVE_H

/*
 * A request that takes longer than this is stuck (typically waiting on a
 * lock that a killed process held): SIGALRM, left at its default, ends the
 * process and the web server (or serve's parent) starts another, whose
 * store open recovers. Senders give up long before (Slack 3 s, GitHub 10 s).
 */
#define REQUEST_WATCHDOG_S	30

/*
 * Answers FastCGI requests accepted on listen_fd with the config at
 * config_path until SIGTERM, SIGINT, SIGUSR1 or SIGHUP; the request in hand
 * is finished first. Returns an exit status.
 */
int	 serve_fastcgi(int listen_fd, const char *config_path);

/*
 * `hookgate serve --listen ADDR [--workers N] [--mode MODE]
 * [--allow-remote]`: argv[0] is "serve". Returns an exit status: 0 after a
 * clean stop, 1 on a failure it explains, 2 on bad usage.
 */
int	 serve_command(int argc, char **argv, const char *config_opt,
	    const char *argv0);

#endif
