#!/bin/sh
# Runs for project.created and project.updated.
set -eu
payload=$(cat)
id=$(printf '%s' "$payload" | sed -n 's/.*"project_id": *\([0-9]*\).*/\1/p')
echo "$HOOKGATE_EVENT_TYPE: project ${id:-?} ($HOOKGATE_EVENT_ID)"
