#!/usr/bin/env python3
"""Where the time of a traced run went: the operations of a Chrome trace written by
fas-pretrain/fas-fewshot --profile FILE, summed by name.

    scripts/bench/trace_summary.py TRACE.json [--top N]

"self" is an operation's time minus the operations it called (so the column adds up
to the time the traced operations took); "total" includes them; "calls" counts them.
Standard library only."""
import argparse
import collections
import json
import os
import sys


def summarise(events):
    """Returns (self seconds, total seconds, calls) per operation name, and the span."""
    by_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X":
            by_thread[(e.get("pid"), e.get("tid"))].append(e)
    own, total, calls = collections.Counter(), collections.Counter(), collections.Counter()
    start, end = float("inf"), float("-inf")
    for thread_events in by_thread.values():
        thread_events.sort(key=lambda e: (e["ts"], -e["dur"]))
        children = [0.0] * len(thread_events)
        stack = []  # indices of the enclosing operations
        for i, e in enumerate(thread_events):
            while stack and thread_events[stack[-1]]["ts"] + thread_events[stack[-1]]["dur"] <= e["ts"]:
                stack.pop()
            if stack:
                children[stack[-1]] += e["dur"]
            stack.append(i)
        for i, e in enumerate(thread_events):
            own[e["name"]] += (e["dur"] - children[i]) / 1e6
            total[e["name"]] += e["dur"] / 1e6
            calls[e["name"]] += 1
            start, end = min(start, e["ts"]), max(end, e["ts"] + e["dur"])
    return own, total, calls, (end - start) / 1e6 if calls else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trace")
    ap.add_argument("--top", type=int, default=25, help="operations to list (default 25)")
    args = ap.parse_args()
    try:
        with open(args.trace) as f:
            events = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        sys.exit(f"trace_summary.py: {args.trace}: not a readable Chrome trace ({e})")
    own, total, calls, span = summarise(events)
    if not calls:
        sys.exit(f"trace_summary.py: {args.trace}: no operations in the trace")
    traced = sum(own.values())
    print(f"{args.trace}: {sum(calls.values())} operations over {span:.3f} s; {traced:.3f} s inside them")
    print(f"{'self s':>9} {'self %':>7} {'total s':>9} {'calls':>8}  operation")
    for name, t in own.most_common(args.top):
        print(f"{t:9.3f} {100 * t / traced:6.1f}% {total[name]:9.3f} {calls[name]:8d}  {name}")


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        # The reader stopped early (| head): no traceback; stdout goes nowhere from here
        # so that Python's own flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
