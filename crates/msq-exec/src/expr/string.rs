//! String functions and `LIKE`.
//!
//! Positions and lengths count Unicode characters (`char`s), not bytes, as Java strings count
//! UTF-16 units for the BMP (astral characters count once here and twice in Java; Druid data
//! rarely depends on that). Null in, null out, and `""` is a value, not null:
//!
//! | function | rule |
//! |---|---|
//! | `LOWER`, `UPPER` | Unicode case mapping |
//! | `CONCAT(a, …)`, `a \|\| b` | null if any argument is null (Druid SQL-compatible mode) |
//! | `SUBSTRING(s, start [, len])` | Druid's `substring(s, start - 1, len)` expression (`Function.SubstringFunc`, not SQL-standard): with the 0-based `index = start - 1`, null when `index >= LENGTH(s)` (so `SUBSTRING('abc', 5, 2)` and `SUBSTRING('', 1)` are null, SQL-compatible null handling); otherwise the characters from `index`, at most `len` of them (a negative or absent `len` = to the end); `start < 1` is an error (Java's `String.substring` rejects the negative index) |
//! | `TRIM([BOTH\|LEADING\|TRAILING] [chars FROM] s)` | removes any of the characters of `chars` (default a space) |
//! | `LENGTH`, `CHAR_LENGTH` | characters |
//! | `REPLACE(s, from, to)` | every non-overlapping occurrence, left to right; an empty `from` leaves `s` unchanged (Druid's `StringUtils.replace`) |
//! | `STRPOS(s, needle)` | 1-based character position of the first occurrence, 0 when absent, 1 for `''` |
//! | `s LIKE p [ESCAPE e]` | `%` any run, `_` one character, `e` before `%`, `_` or `e` makes it literal; whole-string match, case-sensitive |

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use msq_common::{internal_err, ErrorCode, MsqError, Result};
use msq_plan::expr::{ScalarExpr, ScalarFunction, SqlType, TrimWhere};

use super::{constant_string, downcast, eval_as};

/// The SQL name of a string function (for messages).
fn function_name(func: &ScalarFunction) -> &'static str {
    use ScalarFunction as F;
    match func {
        F::Lower => "LOWER",
        F::Upper => "UPPER",
        F::Concat => "CONCAT",
        F::Substring => "SUBSTRING",
        F::Trim(_) => "TRIM",
        F::Length => "LENGTH",
        F::Replace => "REPLACE",
        F::Strpos => "STRPOS",
        _ => "?",
    }
}

/// Evaluates the string functions.
pub(crate) fn eval_function(
    func: &ScalarFunction,
    args: &[ScalarExpr],
    batch: &RecordBatch,
) -> Result<ArrayRef> {
    use ScalarFunction as F;
    let name = function_name(func);
    let string_arg = |i: usize| -> Result<ArrayRef> {
        match args.get(i) {
            Some(e) => eval_as(e, batch, &SqlType::Varchar),
            None => Err(MsqError::plan(format!(
                "Function[{name}] needs at least {} arguments",
                i + 1
            ))),
        }
    };
    match func {
        F::Lower | F::Upper => {
            let s = string_arg(0)?;
            let f = if *func == F::Lower {
                str::to_lowercase
            } else {
                str::to_uppercase
            };
            Ok(Arc::new(map_strings(downcast::<StringArray>(&s)?, f)))
        }
        F::Concat => {
            let values = (0..args.len())
                .map(string_arg)
                .collect::<Result<Vec<_>>>()?;
            concat(&values, batch.num_rows())
        }
        F::Length => {
            let s = string_arg(0)?;
            let out: Int64Array = downcast::<StringArray>(&s)?
                .iter()
                .map(|v| v.map(|v| v.chars().count() as i64))
                .collect();
            Ok(Arc::new(out))
        }
        F::Substring => {
            let s = string_arg(0)?;
            let start = match args.get(1) {
                Some(e) => eval_as(e, batch, &SqlType::Bigint)?,
                None => internal_err!("SUBSTRING needs a start position"),
            };
            let length = match args.get(2) {
                Some(e) => Some(eval_as(e, batch, &SqlType::Bigint)?),
                None => None,
            };
            let s = downcast::<StringArray>(&s)?;
            let start = downcast::<Int64Array>(&start)?;
            let length = length.as_ref().map(downcast::<Int64Array>).transpose()?;
            let out = (0..s.len())
                .map(|i| {
                    if s.is_null(i) || start.is_null(i) {
                        return Ok(None);
                    }
                    let len = match length {
                        Some(l) if l.is_null(i) => return Ok(None),
                        Some(l) => Some(l.value(i)),
                        None => None,
                    };
                    substring(s.value(i), start.value(i), len)
                })
                .collect::<Result<StringArray>>()?;
            Ok(Arc::new(out))
        }
        F::Trim(side) => {
            let s = string_arg(0)?;
            let chars: Vec<char> = match constant_string(name, args, 1)? {
                Some(c) => c.chars().collect(),
                None if args.len() > 1 => {
                    // TRIM(NULL FROM s) is null.
                    return Ok(arrow_array::new_null_array(
                        &arrow_schema::DataType::Utf8,
                        batch.num_rows(),
                    ));
                }
                None => vec![' '],
            };
            let side = *side;
            Ok(Arc::new(map_strings(downcast::<StringArray>(&s)?, |v| {
                trim(v, side, &chars).to_owned()
            })))
        }
        F::Replace => {
            let (s, from, to) = (string_arg(0)?, string_arg(1)?, string_arg(2)?);
            let (s, from, to) = (
                downcast::<StringArray>(&s)?,
                downcast::<StringArray>(&from)?,
                downcast::<StringArray>(&to)?,
            );
            let out: StringArray = (0..s.len())
                .map(|i| {
                    if s.is_null(i) || from.is_null(i) || to.is_null(i) {
                        None
                    } else if from.value(i).is_empty() {
                        Some(s.value(i).to_owned())
                    } else {
                        Some(s.value(i).replace(from.value(i), to.value(i)))
                    }
                })
                .collect();
            Ok(Arc::new(out))
        }
        F::Strpos => {
            let (s, needle) = (string_arg(0)?, string_arg(1)?);
            let (s, needle) = (
                downcast::<StringArray>(&s)?,
                downcast::<StringArray>(&needle)?,
            );
            let out: Int64Array = s
                .iter()
                .zip(needle.iter())
                .map(|(s, n)| match (s, n) {
                    (Some(s), Some(n)) => Some(strpos(s, n)),
                    _ => None,
                })
                .collect();
            Ok(Arc::new(out))
        }
        other => internal_err!("{other:?} is not a string function"),
    }
}

/// Maps every non-null string through `f`.
fn map_strings(values: &StringArray, f: impl Fn(&str) -> String) -> StringArray {
    values.iter().map(|v| v.map(&f)).collect()
}

/// `CONCAT` / `||` of string arrays of `rows` rows: null when any part is null.
pub(crate) fn concat(parts: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let parts = parts
        .iter()
        .map(downcast::<StringArray>)
        .collect::<Result<Vec<_>>>()?;
    let out: StringArray = (0..rows)
        .map(|i| {
            let mut joined = String::new();
            for p in &parts {
                if p.is_null(i) {
                    return None;
                }
                joined.push_str(p.value(i));
            }
            Some(joined)
        })
        .collect();
    Ok(Arc::new(out))
}

/// `SUBSTRING(s, start [, length])` as Druid evaluates it (see the module docs): `Ok(None)`
/// (null) when the 0-based start is at or past the end, an error when `start < 1`.
pub(crate) fn substring(s: &str, start: i64, length: Option<i64>) -> Result<Option<String>> {
    let index = start.saturating_sub(1);
    let chars = s.chars().count() as i64;
    if index >= chars {
        return Ok(None);
    }
    if index < 0 {
        return Err(MsqError::execution(
            ErrorCode::UnknownError,
            format!(
                "Function[substring] begin index [{index}] is out of range for a string of \
                 length [{chars}]: SUBSTRING positions start at 1"
            ),
        ));
    }
    let skip = usize::try_from(index).unwrap_or(usize::MAX);
    let take = match length {
        Some(l) if l >= 0 => usize::try_from(l).unwrap_or(usize::MAX),
        _ => usize::MAX,
    };
    Ok(Some(s.chars().skip(skip).take(take).collect()))
}

/// Trims any of `chars` from the given side(s) of `s`.
pub(crate) fn trim<'a>(s: &'a str, side: TrimWhere, chars: &[char]) -> &'a str {
    let strip = |c: char| chars.contains(&c);
    match side {
        TrimWhere::Both => s.trim_matches(strip),
        TrimWhere::Leading => s.trim_start_matches(strip),
        TrimWhere::Trailing => s.trim_end_matches(strip),
    }
}

/// 1-based character position of `needle` in `s`; 0 when absent.
pub(crate) fn strpos(s: &str, needle: &str) -> i64 {
    match s.find(needle) {
        Some(byte) => s[..byte].chars().count() as i64 + 1,
        None => 0,
    }
}

/// One element of a compiled `LIKE` pattern.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    /// A literal character.
    Char(char),
    /// `_`: exactly one character.
    One,
    /// `%`: any run of characters.
    Many,
}

/// A `LIKE` pattern compiled once per expression evaluation, with fast paths for the common
/// shapes (`abc`, `abc%`, `%abc`, `%abc%`).
#[derive(Debug, Clone)]
pub(crate) struct LikeMatcher {
    tokens: Vec<Token>,
    shape: Shape,
}

/// The pattern's shape, when it is one with a direct string test.
#[derive(Debug, Clone)]
enum Shape {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    General,
}

impl LikeMatcher {
    /// Compiles `pattern`; an escape character must be followed by `%`, `_` or itself
    /// (Calcite's "Invalid escape sequence" otherwise).
    pub(crate) fn new(pattern: &str, escape: Option<char>) -> Result<Self> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if Some(c) == escape {
                match chars.next() {
                    Some(next) if next == '%' || next == '_' || Some(next) == escape => {
                        tokens.push(Token::Char(next))
                    }
                    _ => {
                        return Err(MsqError::plan(format!(
                            "Invalid escape sequence '{pattern}', {}",
                            escape.map(|e| e.to_string()).unwrap_or_default()
                        )))
                    }
                }
            } else {
                tokens.push(match c {
                    '%' => Token::Many,
                    '_' => Token::One,
                    c => Token::Char(c),
                });
            }
        }
        // Collapse runs of `%`.
        tokens.dedup_by(|a, b| *a == Token::Many && *b == Token::Many);
        let shape = Self::shape(&tokens);
        Ok(Self { tokens, shape })
    }

    fn shape(tokens: &[Token]) -> Shape {
        let literal = |ts: &[Token]| -> Option<String> {
            ts.iter()
                .map(|t| match t {
                    Token::Char(c) => Some(*c),
                    _ => None,
                })
                .collect()
        };
        let starts = tokens.first() == Some(&Token::Many);
        let ends = tokens.len() > usize::from(starts) && tokens.last() == Some(&Token::Many);
        let inner = &tokens[usize::from(starts)..tokens.len() - usize::from(ends)];
        match (literal(inner), starts, ends) {
            (Some(s), false, false) => Shape::Exact(s),
            (Some(s), false, true) => Shape::Prefix(s),
            (Some(s), true, false) => Shape::Suffix(s),
            (Some(s), true, true) => Shape::Contains(s),
            (None, _, _) => Shape::General,
        }
    }

    /// Whether `s` matches the whole pattern.
    pub(crate) fn matches(&self, s: &str) -> bool {
        match &self.shape {
            Shape::Exact(p) => s == p,
            Shape::Prefix(p) => s.starts_with(p.as_str()),
            Shape::Suffix(p) => s.ends_with(p.as_str()),
            Shape::Contains(p) => memchr::memmem::find(s.as_bytes(), p.as_bytes()).is_some(),
            Shape::General => {
                let chars: Vec<char> = s.chars().collect();
                wildcard_match(&self.tokens, &chars)
            }
        }
    }

    /// `s [NOT] LIKE pattern` over an array (null in, null out).
    pub(crate) fn evaluate(&self, values: &StringArray, negated: bool) -> BooleanArray {
        values
            .iter()
            .map(|v| v.map(|v| self.matches(v) != negated))
            .collect()
    }
}

/// Iterative wildcard matching with single-star backtracking (linear for most patterns,
/// `O(n·m)` worst case, no recursion).
fn wildcard_match(tokens: &[Token], s: &[char]) -> bool {
    let (mut t, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        match tokens.get(t) {
            Some(Token::Many) => {
                star = Some((t, i));
                t += 1;
            }
            Some(Token::One) => {
                t += 1;
                i += 1;
            }
            Some(Token::Char(c)) if *c == s[i] => {
                t += 1;
                i += 1;
            }
            _ => match star {
                Some((st, si)) => {
                    t = st + 1;
                    i = si + 1;
                    star = Some((st, si + 1));
                }
                None => return false,
            },
        }
    }
    tokens[t.min(tokens.len())..]
        .iter()
        .all(|t| *t == Token::Many)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        let cases: &[(&str, Option<char>, &str, bool)] = &[
            ("abc", None, "abc", true),
            ("abc", None, "abcd", false),
            ("ab%", None, "abcd", true),
            ("%cd", None, "abcd", true),
            ("%bc%", None, "abcd", true),
            ("%", None, "", true),
            ("_", None, "", false),
            ("_", None, "é", true),
            ("a_c", None, "abc", true),
            ("a_c", None, "ac", false),
            ("a%b%c", None, "aXXbYYc", true),
            ("a%b%c", None, "aXXbYY", false),
            ("%a%a%a%", None, "banana", true),
            ("%a%a%a%a%", None, "banana", false),
            ("100!%", Some('!'), "100%", true),
            ("100!%", Some('!'), "1000", false),
            ("a!_b", Some('!'), "a_b", true),
            ("a!_b", Some('!'), "axb", false),
            ("a!!b", Some('!'), "a!b", true),
            ("ABC", None, "abc", false),
            ("日本%", None, "日本語", true),
        ];
        for (pattern, escape, s, want) in cases {
            let m = LikeMatcher::new(pattern, *escape).unwrap();
            assert_eq!(m.matches(s), *want, "{s:?} LIKE {pattern:?}");
        }
        let bad = LikeMatcher::new("a!b", Some('!')).unwrap_err();
        assert!(bad.message().contains("Invalid escape sequence"), "{bad}");
    }

    #[test]
    fn substring_positions() {
        let sub = |s: &str, start: i64, len: Option<i64>| substring(s, start, len).unwrap();
        assert_eq!(sub("hello", 2, Some(3)).as_deref(), Some("ell"));
        assert_eq!(sub("hello", 2, None).as_deref(), Some("ello"));
        assert_eq!(sub("hello", 4, Some(9)).as_deref(), Some("lo"));
        assert_eq!(sub("hello", 5, None).as_deref(), Some("o"));
        assert_eq!(sub("hello", 1, Some(0)).as_deref(), Some(""));
        // A negative length means "to the end" (Druid passes -1 when there is none).
        assert_eq!(sub("hello", 2, Some(-1)).as_deref(), Some("ello"));
        assert_eq!(sub("héllo wörld", 2, Some(4)).as_deref(), Some("éllo"));
        // Past the end (including any start on ''): null, as Druid's defaultStringValue().
        assert_eq!(sub("hello", 6, None), None);
        assert_eq!(sub("abc", 5, Some(2)), None);
        assert_eq!(sub("", 1, Some(2)), None);
        assert_eq!(sub("a", 2, None), None);
        // Before the start: Java's substring throws.
        for start in [0, -5, i64::MIN] {
            let err = substring("hello", start, Some(2)).unwrap_err();
            assert_eq!(err.code(), ErrorCode::UnknownError);
            assert!(err.message().contains("Function[substring]"), "{err}");
        }
        assert!(substring("", 0, None).is_err());
    }

    #[test]
    fn trim_strpos() {
        assert_eq!(trim("  a b  ", TrimWhere::Both, &[' ']), "a b");
        assert_eq!(trim("xxaxx", TrimWhere::Leading, &['x']), "axx");
        assert_eq!(trim("xyaxy", TrimWhere::Trailing, &['x', 'y']), "xya");
        assert_eq!(trim("xxx", TrimWhere::Both, &['x']), "");
        assert_eq!(strpos("hello", "l"), 3);
        assert_eq!(strpos("héllo", "l"), 3);
        assert_eq!(strpos("hello", "z"), 0);
        assert_eq!(strpos("hello", ""), 1);
    }
}
