#!/usr/bin/env python3
"""Results of tests/xfstests/run.sh.

  results.py tsv RESULT_BASE OUT.tsv [--merge] [--log CHECK.LOG]
      read xfstests' xunit report (RESULT_BASE/**/result.xml) and write one
      line per test: name, pass|fail|notrun, the reason (not-run message or
      failure message). Without a report (check was stopped before it wrote
      one) the lines come from check's output in CHECK.LOG. With --merge the
      lines replace those of the same tests in OUT.tsv and the rest is kept.
  results.py table OUTDIR TABLE.md
      merge OUTDIR/gocryptfs.tsv and OUTDIR/veilfs.tsv (whichever exist) into
      a Markdown table: counts, then one row per test; with OUTDIR/tests.list
      (the tests run.sh meant to run) a test that has no result is "-".
"""
import glob
import os
import re
import sys
import xml.etree.ElementTree as ET

FSES = ["veilfs", "gocryptfs"]


def read_tsv(path):
    rows = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 2:
                    rows[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
    return rows


def key(name):
    d, _, n = name.partition("/")
    return (d, int(n) if n.isdigit() else 0, n)


# check's output, one test a line:
#   generic/001         57s
#   generic/004        [not run] O_TMPFILE is not supported
#   generic/003        - output mismatch (see .../generic/003.out.bad)
#   generic/011        [failed, exit status 1]- output mismatch (see ...)
#   generic/013        _check_dmesg: something found (see ...)
CHECK_LINE = re.compile(r"^((?:generic|shared)/\d+)\s+(.*)$")


def from_log(log):
    rows = {}
    with open(log, errors="replace") as f:
        for line in f:
            m = CHECK_LINE.match(line.rstrip("\n"))
            if not m:
                continue
            name, rest = m.group(1), m.group(2).strip()
            if rest.startswith("[not run]"):
                rows[name] = ("notrun", rest[len("[not run]"):].strip())
            elif rest.startswith("[expunged]"):
                continue
            elif re.fullmatch(r"(\d+s)?(\s*\.\.\.\s*\d+s)?", rest) and rest:
                rows[name] = ("pass", "")
            elif rest:
                rows[name] = ("fail", re.sub(r"\s*\(see [^)]*\)", "", rest))
            # an empty rest: the test was still running when check stopped
    return rows


def tsv(result_base, out, merge, log=None):
    rows = read_tsv(out) if merge else {}
    reports = glob.glob(os.path.join(result_base, "**", "result.xml"), recursive=True)
    if not reports:
        if not log or not os.path.exists(log):
            sys.exit(f"results.py: no result.xml under {result_base}")
        print(f"results.py: no result.xml under {result_base}: results from {log}", file=sys.stderr)
        rows.update(from_log(log))
    for rep in reports:
        root = ET.parse(rep).getroot()
        for tc in root.iter():
            if not tc.tag.endswith("testcase"):
                continue
            name = tc.get("name")
            status, why = "pass", ""
            for child in tc:
                tag = child.tag.split("}")[-1]
                if tag == "skipped":
                    status, why = "notrun", child.get("message", "")
                elif tag in ("failure", "error"):
                    status, why = "fail", child.get("message", "")
            rows[name] = (status, " ".join(why.split()))
    with open(out, "w") as f:
        for name in sorted(rows, key=key):
            f.write(f"{name}\t{rows[name][0]}\t{rows[name][1]}\n")


def table(outdir, out):
    data = {fs: read_tsv(os.path.join(outdir, fs + ".tsv")) for fs in FSES}
    fses = [fs for fs in FSES if data[fs]]
    names = set().union(*(data[fs].keys() for fs in fses))
    planned = os.path.join(outdir, "tests.list")
    if os.path.exists(planned):
        with open(planned) as f:
            names |= {l.split()[0] for l in f if l.strip() and not l.startswith("#")}
    names = sorted(names, key=key)
    lines = ["| | " + " | ".join(fses) + " |", "|---|" + "---|" * len(fses)]
    for st in ("pass", "fail", "notrun"):
        lines.append(f"| {st} | " + " | ".join(
            str(sum(1 for v in data[fs].values() if v[0] == st)) for fs in fses) + " |")
    lines += ["", "| test | " + " | ".join(fses) + " | not run because |",
              "|---|" + "---|" * len(fses) + "---|"]
    for n in names:
        cells = [data[fs].get(n, ("-", ""))[0] for fs in fses]
        cells = [f"**{c}**" if c == "fail" else c for c in cells]
        why = ""
        for fs in fses:
            st, w = data[fs].get(n, ("", ""))
            if st == "notrun":
                why = w.replace("|", "\\|")
                break
        lines.append(f"| {n} | " + " | ".join(cells) + f" | {why} |")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "tsv":
        rest = sys.argv[4:]
        log = rest[rest.index("--log") + 1] if "--log" in rest[:-1] else None
        tsv(sys.argv[2], sys.argv[3], "--merge" in rest, log)
    elif len(sys.argv) == 4 and sys.argv[1] == "table":
        table(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
