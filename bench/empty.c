/*
 * empty.c -- the ceiling: a FastCGI responder that does nothing but what
 * every receiver must do (read the whole body, answer 202 with a small
 * JSON body). Run by lighttpd's mod_fastcgi exactly like hookgate (same
 * snippet, same max-procs), so the difference between the two is what
 * hookgate does per event.
 *
 *   cc -O2 -Wall -Wextra -Werror empty.c -lfcgi -o empty
 */
#include <fcgiapp.h>
#include <stdlib.h>

int
main(void)
{
	static char buf[65536];
	FCGX_Request req;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		/* Read the body to its end, as a real receiver must. */
		while (FCGX_GetStr(buf, sizeof(buf), req.in) > 0)
			;
		FCGX_PutS("Status: 202 Accepted\r\n"
		    "Content-Type: application/json\r\n\r\n"
		    "{\"status\":\"accepted\"}\n", req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}
