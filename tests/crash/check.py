#!/usr/bin/env python3
"""check.py HISTORY RAN STORE_JSON DETAILS

The crash test's checker, after Jepsen's total-queue ("what goes in must
come out"). Inputs:
  HISTORY     the senders' lines "<id> <status> <sha256>", one per attempt
  RAN         the script's completion lines "<id> <attempt> <sha256>", one
              per run that got to its end
  STORE_JSON  `hookgate list --json` after quiescence
Prints one "name=value" line per count and writes the ids behind every
non-zero count that must be zero to DETAILS.

  sent        ids delivered at least once
  acked       ids that got a 2xx (202 accepted, or 200 duplicate)
  unknown     sent, never acked: every attempt failed or got no answer
  ran         ids whose script ran to its end with the sent body
  lost        acked but never ran                                  (must be 0)
  unexpected  ran but never sent                                   (must be 0)
  wrong_body  runs of a sent id that saw other bytes on stdin than
              were sent (empty_body: of those, nothing at all)      (must be 0)
  recovered   ran although never acked (committed, answer lost)
  duplicated  ids that ran more than once (at-least-once allows it)
  extra_runs  completed runs beyond the first of each id
  double_accepted  ids answered 202 more than once                 (must be 0)
  store_missing    acked ids the store does not show as done       (must be 0)
  done_not_ran     ids the store shows done whose script never ran (must be 0)
  store_pending    ids still queued, running or retrying           (must be 0)
  store_failed     ids the store gave up on                        (must be 0)
"""
import hashlib, json, sys
from collections import Counter, defaultdict

hist_path, ran_path, store_path, details_path = sys.argv[1:5]

sent_sha = defaultdict(set)
acked, accepted = set(), Counter()
with open(hist_path) as f:
    for line in f:
        p = line.split()
        if len(p) != 3:
            continue
        msg_id, status, sha = p[0], int(p[1]), p[2]
        sent_sha[msg_id].add(sha)
        if 200 <= status < 300:
            acked.add(msg_id)
        if status == 202:
            accepted[msg_id] += 1

EMPTY = hashlib.sha256(b"").hexdigest()
runs = Counter()
unexpected, wrong_body = set(), []
with open(ran_path) as f:
    for line in f:
        p = line.split()
        if len(p) != 3 or p[0] not in sent_sha:
            unexpected.add(line.strip())
        elif p[2] not in sent_sha[p[0]]:
            wrong_body.append(p)
        else:
            runs[p[0]] += 1

with open(store_path) as f:
    store = {e["id"]: e for e in json.load(f)}

sent = set(sent_sha)
ran = set(runs)
lost = acked - ran
recovered = ran - acked
duplicated = {i for i, n in runs.items() if n > 1}
double = {i for i, n in accepted.items() if n > 1}
missing = {i for i in acked if store.get(i, {}).get("state") != "done"}
done_not_ran = {i for i, e in store.items()
                if e["state"] == "done" and i not in ran}
pending = {i for i, e in store.items()
           if e["state"] in ("queued", "running", "retrying")}
failed = {i for i, e in store.items() if e["state"] == "failed"}

counts = [
    ("sent", len(sent)), ("acked", len(acked)),
    ("unknown", len(sent - acked)), ("ran", len(ran)),
    ("lost", len(lost)), ("unexpected", len(unexpected)),
    ("wrong_body", len(wrong_body)),
    ("empty_body", sum(1 for p in wrong_body if p[2] == EMPTY)),
    ("recovered", len(recovered)), ("duplicated", len(duplicated)),
    ("extra_runs", sum(runs.values()) - len(ran)),
    ("double_accepted", len(double)), ("store_missing", len(missing)),
    ("done_not_ran", len(done_not_ran)), ("store_pending", len(pending)),
    ("store_failed", len(failed)),
]
for name, n in counts:
    print("%s=%d" % (name, n))
with open(details_path, "w") as f:
    for p in wrong_body:
        f.write("wrong_body %s attempt %s sha256 %s%s\n" % (
            p[0], p[1], p[2], " (empty)" if p[2] == EMPTY else ""))
    for name, ids in (("lost", lost), ("unexpected", unexpected),
                      ("double_accepted", double), ("store_missing", missing),
                      ("done_not_ran", done_not_ran), ("store_pending", pending),
                      ("store_failed", failed), ("recovered", recovered),
                      ("duplicated", duplicated)):
        for i in sorted(ids):
            f.write("%s %s\n" % (name, i))
