#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Self cost per function of a callgrind dump, divided by a unit count
(samples): callgrind_self.py FILE UNITS [TOP]. Reads the file itself, so it
also works on the parts `callgrind_control -d` writes."""
import collections
import re
import sys


def main():
    names, cost, fn, after_call = {}, collections.Counter(), None, False

    def name(ref):
        m = re.match(r"\((\d+)\)(?: (.*))?", ref)
        if not m:
            return ref
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), ref)

    for line in open(sys.argv[1]):
        line = line.rstrip("\n")
        if line.startswith("fn="):
            fn = name(line[3:])
        elif line.startswith("cfn="):
            name(line[4:])
        elif line.startswith("calls="):
            after_call = True  # the next cost line is the call's inclusive cost
        elif line and (line[0].isdigit() or line[0] in "+-*"):
            if after_call:
                after_call = False
            elif fn and len(line.split()) >= 2:
                cost[fn] += int(line.split()[1])
    units = float(sys.argv[2])
    total = sum(cost.values())
    print(f"total Ir {total:,}  per unit {total / units:,.1f}")
    for f, c in cost.most_common(int(sys.argv[3]) if len(sys.argv) > 3 else 30):
        print(f"{c:>14,} {100 * c / total:5.1f}% {c / units:8.1f}  {f}")


if __name__ == "__main__":
    main()
