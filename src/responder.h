/*
 * responder.h -- the FastCGI responder: the accept loop that every
 * FastCGI hookgate process runs, whether the web server started it
 * (mod_fcgid, lighttpd) or `hookgate serve` did.
 */
#ifndef HOOKGATE_RESPONDER_H
#define HOOKGATE_RESPONDER_H

/*
 * A request that takes longer than this is stuck (typically waiting on a
 * lock that a killed process held): the process ends itself and the web
 * server (or serve's parent) starts another, whose store open recovers.
 * Senders give up long before (Slack 3 s, GitHub 10 s).
 */
#define REQUEST_WATCHDOG_S	30

/*
 * Answers FastCGI requests accepted on listen_fd with the config at
 * config_path, the config's `threads` at once, until SIGTERM, SIGINT,
 * SIGUSR1 or SIGHUP; the requests in hand are finished first. The stop
 * signals may arrive blocked (none is lost). Returns an exit status.
 */
int	 responder_run(int listen_fd, const char *config_path);

#endif
