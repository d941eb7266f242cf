"""Independent reference for the golden corpus: loads tests/data into SQLite and gives SQLite
Python implementations of the Druid functions the corpus uses, so expected results are computed
outside Acorn (brief H4). Druid syntax SQLite lacks (FLOOR(x TO unit), EXTRACT, TIMESTAMP '..')
is rewritten by `to_sqlite`. Rendering follows crates/msq-slt/src/render.rs."""
import calendar, datetime as dt, json, math, os, re, sqlite3
from zoneinfo import ZoneInfo

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data")
UTC = dt.timezone.utc

def iso_to_ms(s):
    if s is None:
        return None
    s = s.strip()
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2}))?(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?", s)
    if not m:
        return None
    y, mo, d, h, mi, se, fr, off = m.groups()
    t = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(se or 0), tzinfo=UTC)
    ms = calendar.timegm(t.timetuple()) * 1000 + (int((fr or "0").ljust(3, "0")[:3]))
    if off and off != "Z":
        sign = -1 if off[0] == "-" else 1
        o = off[1:].replace(":", "")
        ms -= sign * (int(o[:2]) * 3600000 + int(o[2:]) * 60000)
    return ms

def ms_to_iso(ms):
    t = dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"

TZ = UTC
def set_tz(name):
    global TZ
    TZ = UTC if name in (None, "UTC", "Etc/UTC") else ZoneInfo(name)

def local(ms):
    return (dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=ms)).astimezone(TZ)

def to_ms(t):
    return round(t.timestamp() * 1000)

PERIOD = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")

def time_floor(ms, period, origin=None, tz=None):
    if ms is None:
        return None
    m = PERIOD.match(period)
    y, mo, w, d, h, mi, s = (int(x) if x else 0 for x in m.groups())
    saved = TZ
    if tz:
        set_tz(tz)
    t = local(ms)
    if y:
        r = t.replace(year=t.year - (t.year % y) if y > 1 else t.year, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    elif mo:
        months = t.year * 12 + t.month - 1
        months -= months % mo
        r = t.replace(year=months // 12, month=months % 12 + 1, day=1, hour=0, minute=0, second=0, microsecond=0)
    elif w:
        r = (t - dt.timedelta(days=t.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    elif d:
        r = t.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        step = (h * 3600 + mi * 60 + s) * 1000
        base = t.replace(hour=0, minute=0, second=0, microsecond=0)
        off = to_ms(t) - to_ms(base)
        r = base + dt.timedelta(milliseconds=off - off % step)
    out = to_ms(r)
    set_tz_obj(saved)
    return out

def set_tz_obj(z):
    global TZ
    TZ = z

def time_shift(ms, period, step, tz=None):
    if ms is None:
        return None
    m = PERIOD.match(period)
    y, mo, w, d, h, mi, s = (int(x) if x else 0 for x in m.groups())
    t = local(ms)
    if y or mo:
        months = t.year * 12 + t.month - 1 + (y * 12 + mo) * step
        yy, mm = divmod(months, 12)
        day = min(t.day, calendar.monthrange(yy, mm + 1)[1])
        t = t.replace(year=yy, month=mm + 1, day=day)
    t = t + dt.timedelta(weeks=w * step, days=d * step, hours=h * step, minutes=mi * step, seconds=s * step)
    return to_ms(t)

def time_extract(ms, unit, tz=None):
    if ms is None:
        return None
    t = local(ms)
    u = unit.upper()
    return {
        "EPOCH": ms // 1000, "MILLISECOND": ms % 1000, "SECOND": t.second, "MINUTE": t.minute, "HOUR": t.hour,
        "DAY": t.day, "DOW": t.isoweekday(), "ISODOW": t.isoweekday(), "DOY": t.timetuple().tm_yday,
        "WEEK": t.isocalendar()[1], "MONTH": t.month, "QUARTER": (t.month - 1) // 3 + 1, "YEAR": t.year,
    }[u]

JODA = [("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"), ("EEE", "%a")]
def time_format(ms, fmt=None, tz=None):
    if ms is None:
        return None
    saved = TZ
    if tz:
        set_tz(tz)
    t = local(ms)
    set_tz_obj(saved)
    if fmt is None:
        off = t.utcoffset()
        suffix = "Z" if not off else ("+" if off >= dt.timedelta(0) else "-") + "%02d:%02d" % divmod(abs(int(off.total_seconds())) // 60, 60)
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}" + suffix
    out = fmt.replace("'T'", "T")
    out = out.replace("SSS", f"{ms % 1000:03d}")
    for j, p in JODA:
        out = out.replace(j, p)
    return t.strftime(out)

def time_parse(s, fmt=None, tz=None):
    if s is None:
        return None
    if fmt is None:
        return iso_to_ms(s)
    py = fmt
    for j, p in JODA:
        py = py.replace(j, p)
    try:
        t = dt.datetime.strptime(s, py)
    except ValueError:
        return None
    z = ZoneInfo(tz) if tz else TZ
    return to_ms(t.replace(tzinfo=z))

def regexp_extract(s, pattern, index=0):
    if s is None:
        return None
    m = re.search(pattern, s)
    return m.group(index) if m else None

def regexp_like(s, pattern):
    if s is None:
        return None
    return 1 if re.search(pattern, s) else 0

def D_str(x):
    return real(x) if isinstance(x, float) else str(x)

def connect():
    db = sqlite3.connect(":memory:")
    db.execute("PRAGMA case_sensitive_like = ON")
    f = db.create_function
    f("TIME_FLOOR", 2, time_floor); f("TIME_FLOOR", 4, lambda m, p, o, z: time_floor(m, p, None, z))
    f("TIME_SHIFT", 3, time_shift)
    f("TIME_EXTRACT", 2, time_extract); f("TIME_EXTRACT", 1, lambda m: time_extract(m, "MILLISECOND"))
    f("TIME_FORMAT", 1, time_format); f("TIME_FORMAT", 2, time_format); f("TIME_FORMAT", 3, time_format)
    f("TIME_PARSE", 1, time_parse); f("TIME_PARSE", 2, time_parse); f("TIME_PARSE", 3, time_parse)
    f("MILLIS_TO_TIMESTAMP", 1, lambda x: x); f("TIMESTAMP_TO_MILLIS", 1, lambda x: x)
    f("STRPOS", 2, lambda s, t: None if s is None or t is None else s.find(t) + 1)
    f("REGEXP_EXTRACT", 2, regexp_extract); f("REGEXP_EXTRACT", 3, regexp_extract)
    f("REGEXP_LIKE", 2, regexp_like)
    f("CONCAT", -1, lambda *a: None if any(x is None for x in a) else "".join(D_str(x) for x in a))
    f("POWER", 2, lambda a, b: None if a is None or b is None else float(a) ** float(b))
    f("LN", 1, lambda a: None if a is None else math.log(a))
    f("SQRT", 1, lambda a: None if a is None else math.sqrt(a))
    f("FLOOR", 1, lambda a: None if a is None else float(math.floor(a)))
    f("CEIL", 1, lambda a: None if a is None else float(math.ceil(a)))
    f("MOD", 2, lambda a, b: None if a is None or b is None else int(math.fmod(a, b)) if isinstance(a, int) and isinstance(b, int) else math.fmod(a, b))
    f("DFLOOR", 2, lambda m, u: time_floor(m, {"SECOND": "PT1S", "MINUTE": "PT1M", "HOUR": "PT1H", "DAY": "P1D", "WEEK": "P1W", "MONTH": "P1M", "QUARTER": "P3M", "YEAR": "P1Y"}[u]))
    f("DCEIL", 2, lambda m, u: (lambda fl: m if fl == m else time_shift(fl, {"SECOND": "PT1S", "MINUTE": "PT1M", "HOUR": "PT1H", "DAY": "P1D", "WEEK": "P1W", "MONTH": "P1M", "QUARTER": "P3M", "YEAR": "P1Y"}[u], 1))(time_floor(m, {"SECOND": "PT1S", "MINUTE": "PT1M", "HOUR": "PT1H", "DAY": "P1D", "WEEK": "P1W", "MONTH": "P1M", "QUARTER": "P3M", "YEAR": "P1Y"}[u])))
    db.execute("CREATE TABLE foo(__time INTEGER, dim1 TEXT, dim2 TEXT, cnt INTEGER, m1 REAL, m2 REAL)")
    for line in open(os.path.join(DATA, "foo.json"), encoding="utf-8"):
        r = json.loads(line)
        db.execute("INSERT INTO foo VALUES (?,?,?,?,?,?)", (iso_to_ms(r["t"]), r.get("dim1"), r.get("dim2"), r["cnt"], r["m1"], r["m2"]))
    db.execute("CREATE TABLE foo2(__time INTEGER, dim1 TEXT, dim2 TEXT, dim3 TEXT, m1 REAL)")
    for line in open(os.path.join(DATA, "foo2.json"), encoding="utf-8"):
        r = json.loads(line)
        db.execute("INSERT INTO foo2 VALUES (?,?,?,?,?)", (iso_to_ms(r["t"]), r["dim1"], r["dim2"], r["dim3"], r["m1"]))
    db.execute('CREATE TABLE edits(__time INTEGER, channel TEXT, page TEXT, "user" TEXT, added INTEGER, deleted INTEGER, delta INTEGER, isRobot TEXT, countryName TEXT)')
    for line in open(os.path.join(DATA, "edits.json"), encoding="utf-8"):
        r = json.loads(line)
        db.execute("INSERT INTO edits VALUES (?,?,?,?,?,?,?,?,?)", (iso_to_ms(r["timestamp"]), r["channel"], r["page"], r["user"], r["added"], r["deleted"], r["delta"], str(r["isRobot"]).lower(), r["countryName"]))
    db.execute("CREATE TABLE channels(channel TEXT, language TEXT)")
    for line in open(os.path.join(DATA, "channels.csv"), encoding="utf-8").read().splitlines()[1:]:
        db.execute("INSERT INTO channels VALUES (?,?)", line.split(","))
    return db

UNITS = "SECOND|MINUTE|HOUR|DAY|WEEK|MONTH|QUARTER|YEAR"
def to_sqlite(sql):
    s = re.sub(r"TIMESTAMP '([^']+)'", lambda m: str(iso_to_ms(m.group(1))), sql)
    s = re.sub(r"FLOOR\(([\w\"]+) TO (%s)\)" % UNITS, r"DFLOOR(\1, '\2')", s)
    s = re.sub(r"CEIL\(([\w\"]+) TO (%s)\)" % UNITS, r"DCEIL(\1, '\2')", s)
    s = re.sub(r"EXTRACT\((\w+) FROM ([\w\"]+)\)", r"TIME_EXTRACT(\2, '\1')", s)
    s = s.replace("CHAR_LENGTH(", "LENGTH(").replace("CHARACTER_LENGTH(", "LENGTH(")
    return s

def real(f):
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "Infinity" if f > 0 else "-Infinity"
    s = f"{f:.6f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s

def render(v, letter):
    if v is None:
        return "NULL"
    if letter == "D":
        if isinstance(v, str):
            v = iso_to_ms(v)
        return ms_to_iso(int(v))
    if letter == "B":
        if isinstance(v, str):
            return v
        return "true" if v else "false"
    if isinstance(v, str):
        return "(empty)" if v == "" else v
    if letter == "I":
        return str(int(v)) if float(v).is_integer() else real(v)
    if isinstance(v, float) or letter == "R":
        return real(float(v))
    return str(v)
