#!/usr/bin/env python3
"""Checks that docs/design.md's layout table matches lib/cmclip/.

The table ("The library's folders, from the bottom up") lists the folders of the
library in layer order. This script fails (exit 1, one line per problem) when
  - a folder of lib/cmclip/ is missing from the table, or the table names one that
    does not exist;
  - a source file includes a header of a folder listed after its own (an arrow
    back up the layers);
  - a source file is over 600 lines (scripts/dev/long-functions.py checks functions).
Run from anywhere: scripts/dev/check-layout.py [REPO]
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
design = (root / "docs/design.md").read_text()
start = design.index("The library's folders, from the bottom up")
order = []
for line in design[start:].splitlines()[1:]:
    m = re.match(r"\| `([a-z0-9_]+)/`", line)
    if m:
        order.append(m.group(1))
    elif order and not line.startswith("|"):
        break
lib = root / "lib/cmclip"
folders = sorted(p.name for p in lib.iterdir() if p.is_dir())
problems = []
for f in folders:
    if f not in order:
        problems.append(f"lib/cmclip/{f}/ is not in docs/design.md's layout table")
for f in order:
    if f not in folders:
        problems.append(f"docs/design.md's layout table names {f}/, which lib/cmclip/ does not have")
rank = {f: i for i, f in enumerate(order)}
include = re.compile(r'#include "cmclip/([a-z0-9_]+)/')
for path in sorted(lib.rglob("*.[ch]pp")):
    own = path.relative_to(lib).parts[0]
    if own not in rank:
        continue
    lines = path.read_text().splitlines()
    if len(lines) > 600:
        problems.append(f"{path.relative_to(root)}: {len(lines)} lines, over 600")
    for n, line in enumerate(lines, 1):
        m = include.match(line)
        if m and m.group(1) in rank and rank[m.group(1)] > rank[own]:
            problems.append(f"{path.relative_to(root)}:{n}: {own}/ includes {m.group(1)}/, a layer above it")
for p in problems:
    print(p)
print(f"layout: {len(order)} folders in order, {len(problems)} problem(s)", file=sys.stderr)
sys.exit(1 if problems else 0)
