/*
 * serve.h -- `hookgate serve`, which binds its own socket and keeps worker
 * processes running the FastCGI responder on it (for mod_proxy_fcgi,
 * nginx, spawn-fcgi).
 */
#ifndef HOOKGATE_SERVE_H
#define HOOKGATE_SERVE_H

/*
 * `hookgate serve --listen ADDR [--workers N] [--mode MODE]
 * [--allow-remote]`: argv[0] is "serve". Returns an exit status: 0 after a
 * clean stop, 1 on a failure it explains, 2 on bad usage.
 */
int	 serve_command(int argc, char **argv, const char *config_opt,
	    const char *argv0);

#endif
