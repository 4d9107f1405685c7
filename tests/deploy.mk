# Deployment: `hookgate serve` (the program's FastCGI edge, so it links
# libfcgi and stays out of the library the unit tests link), and the tests
# that run the shipped snippets in real servers, plus the static binary.

hookgate_SOURCES += src/serve.c src/serve.h

SCRIPT_TESTS += tests/serve.test tests/apache-fcgid.test \
	tests/apache-proxy.test tests/apache-htaccess.test tests/static.test
EXTRA_DIST += tests/deploy.sh

# The same program linked with -static, for tests/static.test, whatever
# --enable-static-binary says (with it, hookgate itself is static too).
# Not with the sanitizers: their runtimes do not link statically.
if HAVE_CHECK
if HAVE_STATIC
if !SANITIZERS
check_PROGRAMS += hookgate-static
endif
endif
endif
hookgate_static_SOURCES = $(hookgate_SOURCES)
hookgate_static_LDADD = libhookgate.a $(FCGI_LIBS) $(STATIC_LIBS)
hookgate_static_LDFLAGS = -static
