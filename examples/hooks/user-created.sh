#!/bin/sh
# Runs for user.created. The raw event is on stdin; the id, type and attempt
# number are in the environment. Exit 0: done; 65: bad event, do not retry;
# anything else: retry later.
set -eu
payload=$(cat)
email=$(printf '%s' "$payload" | sed -n 's/.*"email": *"\([^"]*\)".*/\1/p')
echo "welcome mail to ${email:-?} for $HOOKGATE_EVENT_ID (attempt $HOOKGATE_ATTEMPT)"
