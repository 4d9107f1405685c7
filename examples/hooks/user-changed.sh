#!/bin/sh
# Runs for user.updated and user.deleted.
set -eu
bytes=$(wc -c)
echo "$HOOKGATE_EVENT_TYPE $HOOKGATE_EVENT_ID: synced ($bytes bytes)"
