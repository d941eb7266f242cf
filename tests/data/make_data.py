#!/usr/bin/env python3
"""Writes the small deterministic inputs of the golden corpus (tests/slt). Run from anywhere:
`python3 tests/data/make_data.py`. Output is byte-for-byte reproducible (fixed seed, gzip mtime 0).
See README.md beside this file for what each file is."""
import csv, gzip, io, json, os, random

HERE = os.path.dirname(os.path.abspath(__file__))

def write(name, text, mode="w"):
    with open(os.path.join(HERE, name), mode, **({} if "b" in mode else {"newline": ""})) as f:
        f.write(text)

# Druid's CalciteTests `foo` (TestDataBuilder.RAW_ROWS1). dim2 holds at most one value per row, so
# it is written as a plain string ([] -> null, [""] -> ""); dim3 keeps its multi-value arrays.
FOO = [
    {"t": "2000-01-01", "m1": 1.0, "m2": 1.0, "dim1": "", "dim2": "a", "dim3": ["a", "b"]},
    {"t": "2000-01-02", "m1": 2.0, "m2": 2.0, "dim1": "10.1", "dim2": None, "dim3": ["b", "c"]},
    {"t": "2000-01-03", "m1": 3.0, "m2": 3.0, "dim1": "2", "dim2": "", "dim3": ["d"]},
    {"t": "2001-01-01", "m1": 4.0, "m2": 4.0, "dim1": "1", "dim2": "a", "dim3": [""]},
    {"t": "2001-01-02", "m1": 5.0, "m2": 5.0, "dim1": "def", "dim2": "abc", "dim3": []},
    {"t": "2001-01-03", "m1": 6.0, "m2": 6.0, "dim1": "abc"},
]
FOO2 = [
    {"t": "2000-01-01", "m1": 1.0, "dim1": "דרואיד", "dim2": "he", "dim3": "10"},
    {"t": "2000-01-01", "m1": 1.0, "dim1": "druid", "dim2": "en", "dim3": "11"},
    {"t": "2000-01-01", "m1": 1.0, "dim1": "друид", "dim2": "ru", "dim3": "12"},
]

def ndjson(rows):
    out = []
    for r in rows:
        r = dict(r)
        out.append(json.dumps(r, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(out) + "\n"

def foo_rows():
    rows = []
    for r in FOO:
        r = {"t": r["t"] + "T00:00:00.000Z", **{k: v for k, v in r.items() if k != "t"}}
        r["cnt"] = 1
        rows.append(r)
    return rows

def csv_text(header, rows, delim=","):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, lineterminator="\n")
    if header:
        w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue()

# Wikipedia-like edits: 48 rows over 2016-06-27..29, nulls in countryName/user, negatives in delta.
def edits():
    rnd = random.Random(4)
    channels = ["#en.wikipedia", "#de.wikipedia", "#fr.wikipedia", "#ja.wikipedia"]
    pages = ["Main Page", "Druid", "Apache Software Foundation", "Zürich", "東京", "Rust (language)", "Wasm"]
    users = ["Alice", "Bob", "Lsjbot", "Beau.bot", "Chloé", "Dmitri", None]
    countries = ["United States", "Germany", "France", "Japan", None, None]
    rows = []
    for i in range(48):
        day = 27 + i // 16
        ms = (i % 16) * 5400_000 + rnd.randrange(0, 3600) * 1000 + rnd.randrange(0, 1000)
        h, rem = divmod(ms, 3600_000)
        mi, rem = divmod(rem, 60_000)
        s, milli = divmod(rem, 1000)
        user = users[rnd.randrange(len(users))]
        added = rnd.choice([0, 0, 3, 12, 57, 140, 512, 1024, 4096])
        deleted = rnd.choice([0, 0, 0, 5, 31, 200, 700])
        rows.append({
            "timestamp": f"2016-06-{day:02d}T{h:02d}:{mi:02d}:{s:02d}.{milli:03d}Z",
            "channel": channels[rnd.randrange(len(channels))],
            "page": pages[rnd.randrange(len(pages))],
            "user": user,
            "added": added,
            "deleted": deleted,
            "delta": added - deleted,
            "isRobot": user is not None and user.endswith("bot"),
            "countryName": countries[rnd.randrange(len(countries))],
        })
    return rows

EDIT_COLS = ["timestamp", "channel", "page", "user", "added", "deleted", "delta", "isRobot", "countryName"]

def main():
    foo = foo_rows()
    write("foo.json", ndjson(foo))
    write("foo.csv", csv_text(
        ["t", "dim1", "dim2", "dim3", "cnt", "m1", "m2"],
        [[r["t"], r["dim1"], r.get("dim2"), "|".join(r["dim3"]) if "dim3" in r and r["dim3"] else None,
          r["cnt"], r["m1"], r["m2"]] for r in foo]))
    write("foo2.json", ndjson([{**r, "t": r["t"] + "T00:00:00.000Z"} for r in FOO2]))
    ed = edits()
    text = "\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in ed) + "\n"
    write("edits.json", text)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as g:
        g.write(text.encode())
    write("edits.json.gz", buf.getvalue(), "wb")
    tsv_rows = [[str(r[c]).lower() if isinstance(r[c], bool) else r[c] for c in EDIT_COLS] for r in ed]
    write("edits.tsv", csv_text(EDIT_COLS, tsv_rows, "\t"))
    # Two halves of edits.json, for several-file inputs (parallelism = number of files).
    write("edits_part1.json", "\n".join(text.splitlines()[:24]) + "\n")
    write("edits_part2.json", "\n".join(text.splitlines()[24:]) + "\n")
    # A join dimension: channel -> language.
    write("channels.csv", csv_text(["channel", "language"], [
        ["#en.wikipedia", "English"], ["#de.wikipedia", "German"], ["#fr.wikipedia", "French"],
        ["#it.wikipedia", "Italian"]]))
    # Parse errors: line 2 is not JSON (CannotParseExternalData warnings, TooManyWarnings).
    write("bad.json", '{"timestamp":"2016-06-27T00:00:00.000Z","channel":"#en","added":1}\n'
          '{"timestamp":"2016-06-27T01:00:00.000Z","channel":"#de","added":2 BROKEN\n'
          '{"timestamp":"2016-06-27T02:00:00.000Z","channel":"#fr","added":3}\n')
    # Null / unparseable timestamps (InsertTimeNull).
    write("null_time.json", '{"timestamp":"2016-06-27T00:00:00.000Z","v":1}\n'
          '{"timestamp":null,"v":2}\n{"timestamp":"not a time","v":3}\n')
    # 0..25000, one per line (TooManyBuckets, TooManyPartitions).
    write("numbers.csv", "n\n" + "".join(f"{i}\n" for i in range(25001)))

if __name__ == "__main__":
    main()
