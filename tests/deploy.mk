# Deployment tests: Apache (mod_fcgid, mod_proxy_fcgi + serve, .htaccess), static binary.
