#!/bin/sh
# Any other event type: keep it for later.
set -eu
cat > /dev/null
echo "unhandled $HOOKGATE_EVENT_TYPE $HOOKGATE_EVENT_ID"
