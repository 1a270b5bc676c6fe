#!/usr/bin/env python3
"""Summarises a `go test -json` run read from stdin: prints the output of
every failing test and of a package that did not build, then one line of
counts and the slowest tests. Exits 1 when a test or package failed, when no
test passed, or (with --no-skips) when a top-level test was skipped, except
one whose reason matches --allow-skip REGEX.
Usage: go test -json ... | testsum.py NAME [--no-skips] [--allow-skip REGEX]"""
import json, re, sys

name = sys.argv[1]
no_skips = "--no-skips" in sys.argv[2:]
allow = re.compile(sys.argv[sys.argv.index("--allow-skip") + 1]) if "--allow-skip" in sys.argv else None
output, results, pkg_fail, other = {}, {}, [], []
for line in sys.stdin:
    try:
        ev = json.loads(line)
    except ValueError:
        other.append(line)  # build errors before any event
        continue
    pkg, test, act = ev.get("Package", ""), ev.get("Test"), ev.get("Action")
    key = (pkg, test)
    if act == "output":
        output.setdefault(key, []).append(ev.get("Output", ""))
    elif act in ("pass", "fail", "skip"):
        if test:
            results[key] = (act, ev.get("Elapsed", 0))
        elif act == "fail":
            pkg_fail.append(pkg)
    elif act == "build-output":
        output.setdefault((ev.get("ImportPath", ""), None), []).append(ev.get("Output", ""))

MODULE = "github.com/imdsopts/imdsopts"


def short(pkg):
    return "." + pkg[len(MODULE):] if pkg.startswith(MODULE) else pkg


def top(key):
    return key[1] and "/" not in key[1]

failed = [k for k, (a, _) in results.items() if a == "fail"]
skipped = [k for k, (a, _) in results.items() if a == "skip" and top(k)]
passed = [k for k, (a, _) in results.items() if a == "pass"]
for k in failed:
    sys.stdout.write("".join(output.get(k, [])))
for p in pkg_fail:
    if not any(k[0] == p for k in failed):
        sys.stdout.write("".join(output.get((p, None), [])))
sys.stdout.write("".join(other))
slow = sorted(((e, k) for k, (a, e) in results.items() if a != "skip"), reverse=True)[:10]
print(f"{name}: {len([k for k in passed if top(k)])} tests passed ({len(passed)} with subtests), "
      f"{len(failed)} failed, {len(skipped)} skipped, {len(pkg_fail)} package(s) failed")
def reason(k):
    lines = [l.strip() for l in output.get(k, []) if "_test.go" in l]
    return lines[-1] if lines else ""

for k in skipped:
    print(f"  skipped: {short(k[0])} {k[1]}: {reason(k)}")
unexpected = [k for k in skipped if not (allow and allow.search(reason(k)))]
print(f"{name}: the slowest tests (seconds)")
for e, k in slow:
    print(f"  {e:7.2f}  {short(k[0])} {k[1]}")
if no_skips and unexpected:
    print(f"{name}: {len(unexpected)} test(s) skipped that this tier must run")
bad = failed or pkg_fail or not passed or (no_skips and unexpected)
if not passed:
    print(f"{name}: no test ran")
sys.exit(1 if bad else 0)
