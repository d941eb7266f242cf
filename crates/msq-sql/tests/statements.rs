//! Statement-level tests: Druid SQL in, typed statements or Druid-worded errors out.
#![allow(clippy::unwrap_used)]

use msq_common::{ErrorCategory, ErrorCode, MsqError};
use msq_sql::time::{format_interval, parse_timestamp_millis};
use msq_sql::{
    error_location, extern_inputs, parse, parse_one, parse_query, parse_query_with_parameters,
    referenced_tables, ClusterExpr, DruidType, Granularity, Ingest, Overwrite, SqlParameter,
    Statement,
};
use serde_json::json;

/// The example INSERT of Druid's SQL ingestion API docs (`sql-ingestion-api.md`).
const DOCS_EXAMPLE: &str = r#"INSERT INTO wikipedia
SELECT
  TIME_PARSE("timestamp") AS __time,
  *
FROM TABLE(
  EXTERN(
    '{"type": "http", "uris": ["https://druid.apache.org/data/wikipedia.json.gz"]}',
    '{"type": "json"}',
    '[{"name": "added", "type": "long"}, {"name": "channel", "type": "string"}, {"name": "cityName", "type": "string"}, {"name": "comment", "type": "string"}, {"name": "commentLength", "type": "long"}, {"name": "countryIsoCode", "type": "string"}, {"name": "countryName", "type": "string"}, {"name": "deleted", "type": "long"}, {"name": "delta", "type": "long"}, {"name": "deltaBucket", "type": "string"}, {"name": "diffUrl", "type": "string"}, {"name": "flags", "type": "string"}, {"name": "isAnonymous", "type": "string"}, {"name": "isMinor", "type": "string"}, {"name": "isNew", "type": "string"}, {"name": "isRobot", "type": "string"}, {"name": "isUnpatrolled", "type": "string"}, {"name": "metroCode", "type": "string"}, {"name": "namespace", "type": "string"}, {"name": "page", "type": "string"}, {"name": "regionIsoCode", "type": "string"}, {"name": "regionName", "type": "string"}, {"name": "timestamp", "type": "string"}, {"name": "user", "type": "string"}]'
  )
)
PARTITIONED BY DAY"#;

fn ingest(sql: &str) -> Ingest {
    match parse_one(sql).unwrap_or_else(|e| panic!("{sql}\n{e}")) {
        Statement::Insert(i) | Statement::Replace(i) => i,
        other => panic!("not an ingest: {other:?}"),
    }
}

fn error(sql: &str) -> MsqError {
    match parse_one(sql) {
        Ok(statement) => panic!("expected an error for {sql}, got {statement:?}"),
        Err(e) => e,
    }
}

fn granularity(clause: &str) -> Result<Granularity, MsqError> {
    parse_one(&format!(
        "INSERT INTO t SELECT __time FROM foo PARTITIONED BY {clause}"
    ))
    .map(|s| s.ingest().unwrap().partitioned_by)
}

fn ts(text: &str) -> i64 {
    parse_timestamp_millis(text).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The docs' example
// ---------------------------------------------------------------------------------------------

#[test]
fn docs_example_insert_parses() {
    let statement = parse_one(DOCS_EXAMPLE).unwrap();
    assert_eq!(statement.kind(), "INSERT");
    let ingest = statement.ingest().unwrap();
    assert_eq!(ingest.table, "wikipedia");
    assert_eq!(ingest.partitioned_by, Granularity::Day);
    assert_eq!(ingest.overwrite, None);
    assert!(ingest.clustered_by.is_empty());

    let inputs = statement.extern_inputs().unwrap();
    assert_eq!(inputs.len(), 1);
    let input = &inputs[0];
    assert_eq!(
        input.input_source,
        json!({"type": "http", "uris": ["https://druid.apache.org/data/wikipedia.json.gz"]})
    );
    assert_eq!(input.input_format, json!({"type": "json"}));
    assert_eq!(input.signature.len(), 24);
    assert_eq!(input.signature[0], ("added".to_string(), DruidType::Long));
    assert_eq!(
        input.signature[1],
        ("channel".to_string(), DruidType::String)
    );
    assert_eq!(input.signature[23], ("user".to_string(), DruidType::String));
    assert_eq!(
        input.to_druid_json()["signature"][4],
        json!({"name": "commentLength", "type": "LONG"})
    );
    assert_eq!(
        ingest.query_context().unwrap(),
        json!({"sqlInsertSegmentGranularity": "\"DAY\""})
            .as_object()
            .unwrap()
            .clone()
    );
}

#[test]
fn docs_example_through_the_request_api() {
    let request: serde_json::Value = json!({"query": DOCS_EXAMPLE, "context": {"maxNumTasks": 3}});
    let parsed = parse_query(request["query"].as_str().unwrap()).unwrap();
    assert!(parsed.context_overrides.is_empty());
    assert_eq!(parsed.statement.kind(), "INSERT");
}

// ---------------------------------------------------------------------------------------------
// Statement kinds
// ---------------------------------------------------------------------------------------------

#[test]
fn select_statements() {
    let statement = parse_one(
        "SELECT channel, COUNT(*) FROM wiki GROUP BY 1 ORDER BY 2 DESC LIMIT 10 OFFSET 5",
    )
    .unwrap();
    assert_eq!(statement.kind(), "SELECT");
    assert!(statement.ingest().is_none());
    assert!(matches!(statement, Statement::Select(_)));
    // ORDER BY / LIMIT / OFFSET are fine outside INSERT and REPLACE.
    assert_eq!(
        statement.query().to_string(),
        "SELECT channel, COUNT(*) FROM wiki GROUP BY 1 ORDER BY 2 DESC LIMIT 10 OFFSET 5"
    );
    for sql in [
        "WITH a AS (SELECT 1 AS x) SELECT x FROM a",
        "VALUES (1, 'a'), (2, 'b')",
        "(SELECT 1) UNION ALL (SELECT 2)",
        "SELECT * FROM foo WHERE __time >= CURRENT_TIMESTAMP - INTERVAL '1' DAY",
    ] {
        assert_eq!(parse_one(sql).unwrap().kind(), "SELECT", "{sql}");
    }
}

#[test]
fn explain_plan_for() {
    let statement =
        parse_one("EXPLAIN PLAN FOR INSERT INTO dst SELECT * FROM foo PARTITIONED BY ALL TIME")
            .unwrap();
    assert_eq!(statement.kind(), "EXPLAIN");
    let Statement::Explain(inner) = &statement else {
        panic!()
    };
    assert_eq!(inner.kind(), "INSERT");
    assert_eq!(statement.ingest().unwrap().table, "dst");
    assert_eq!(
        parse_one("explain plan for select 1").unwrap().kind(),
        "EXPLAIN"
    );
    assert_eq!(
        parse_one("EXPLAIN PLAN WITH TYPE FOR SELECT 1")
            .unwrap()
            .kind(),
        "EXPLAIN"
    );
    // Validation applies under EXPLAIN too (Druid's testExplainPlanInsertWithClusteredByDescThrowsException).
    let err = error(
        "EXPLAIN PLAN FOR INSERT INTO druid.dst SELECT __time, FLOOR(m1) as floor_m1, dim1, CEIL(m2) as ceil_m2 \
         FROM foo PARTITIONED BY FLOOR(__time TO DAY) CLUSTERED BY 2, dim1 DESC, CEIL(m2)",
    );
    assert_eq!(err.code(), ErrorCode::InsertCannotOrderByDescending);
    assert_eq!(
        err.message(),
        "Invalid CLUSTERED BY clause [dim1 DESC]: cannot sort in descending order."
    );
    let err = error("EXPLAIN SELECT 1");
    assert_eq!(
        err.message(),
        "Received an unexpected token [SELECT] (line [1], column [9]), expected: PLAN"
    );
}

#[test]
fn several_statements() {
    let statements =
        parse("SELECT 1; INSERT INTO t SELECT 2 PARTITIONED BY ALL;\n-- done\n").unwrap();
    assert_eq!(statements.len(), 2);
    assert_eq!(statements[1].kind(), "INSERT");
    assert!(parse("  -- nothing\n ;; ").unwrap().is_empty());
    let err = parse_one("SELECT 1; SELECT 2").unwrap_err();
    assert_eq!(
        err.message(),
        "SQL text must contain exactly one statement, found 2"
    );
    let err = parse_one("").unwrap_err();
    assert_eq!(err.code(), ErrorCode::SqlParseError);
}

#[test]
fn unsupported_statements() {
    let err = error("DELETE FROM foo WHERE x = 1");
    assert_eq!(err.code(), ErrorCode::SqlParseError);
    assert_eq!(
        err.message(),
        "Unsupported statement [DELETE]: Druid SQL statements are SELECT, INSERT, REPLACE, \
         EXPLAIN PLAN FOR and SET (line [1], column [1])"
    );
    let err = error("INSERT INTO EXTERN(local(exportPath => '/tmp')) AS CSV SELECT 1");
    assert_eq!(err.code(), ErrorCode::QueryNotSupported);
}

// ---------------------------------------------------------------------------------------------
// SET prefixes and parameters
// ---------------------------------------------------------------------------------------------

#[test]
fn set_statements_become_context_overrides() {
    let parsed = parse_query(
        "SET sqlJoinAlgorithm = 'sortMerge';\nSET maxNumTasks = 3;\nset finalizeAggregations = false;\n\
         SELECT * FROM foo;",
    )
    .unwrap();
    assert_eq!(
        serde_json::Value::Object(parsed.context_overrides.clone()),
        json!({"sqlJoinAlgorithm": "sortMerge", "maxNumTasks": 3, "finalizeAggregations": false})
    );
    let keys: Vec<&String> = parsed.context_overrides.keys().collect();
    assert_eq!(
        keys,
        ["sqlJoinAlgorithm", "maxNumTasks", "finalizeAggregations"]
    );
    assert_eq!(parsed.statement.kind(), "SELECT");
}

#[test]
fn set_statement_errors() {
    let err = parse_query("SELECT 1; SET x = 1").unwrap_err();
    assert_eq!(
        err.message(),
        "SET statements must come before the statement they configure (line [1], column [11])"
    );
    let err = parse_query("SET x = 1;").unwrap_err();
    assert!(
        err.message().starts_with("SQL text contains no statement"),
        "{err}"
    );
    let err = parse_query("SET x = 1; SELECT 1; SELECT 2").unwrap_err();
    assert!(
        err.message().contains("exactly one other statement"),
        "{err}"
    );
    let err = parse("SET x = 1; SELECT 1").unwrap_err();
    assert!(
        err.message()
            .starts_with("SET statements are only allowed before"),
        "{err}"
    );
}

#[test]
fn parameters_parse_as_placeholders() {
    let statement = parse_one("SELECT * FROM foo WHERE dim1 = ? AND __time > ? LIMIT ?").unwrap();
    assert_eq!(
        statement.query().to_string(),
        "SELECT * FROM foo WHERE dim1 = ? AND __time > ? LIMIT ?"
    );
    // A table function argument may be a parameter; it is checked once bound.
    let sql = "SELECT * FROM TABLE(http(uris => ?, format => 'csv')) EXTEND (x VARCHAR)";
    let statement = parse_one(sql).unwrap();
    let err = statement.extern_inputs().unwrap_err();
    assert!(
        err.message()
            .contains("Dynamic parameter [?] for argument [uris]"),
        "{err}"
    );
}

#[test]
fn parameters_bind_before_validation() {
    let sql = "REPLACE INTO t OVERWRITE WHERE __time >= ? AND __time < ? \
               SELECT * FROM TABLE(http(uris => ?, format => 'csv')) EXTEND (__time TIMESTAMP, x VARCHAR) \
               PARTITIONED BY DAY";
    let params = [
        SqlParameter::new("TIMESTAMP", "2000-01-01"),
        SqlParameter::new("TIMESTAMP", "2000-01-03"),
        SqlParameter::new(
            "VARCHAR",
            json!(["http://msq.test/a.csv", "http://msq.test/b.csv"]),
        ),
    ];
    let parsed = parse_query_with_parameters(sql, &params).unwrap();
    let ingest = parsed.statement.ingest().unwrap();
    assert_eq!(
        ingest.replace_time_chunks().unwrap().unwrap(),
        "2000-01-01T00:00:00.000Z/2000-01-03T00:00:00.000Z"
    );
    let inputs = parsed.statement.extern_inputs().unwrap();
    assert_eq!(
        inputs[0].input_source["uris"],
        json!(["http://msq.test/a.csv", "http://msq.test/b.csv"])
    );
    let err = parse_query_with_parameters(sql, &params[..1]).unwrap_err();
    assert_eq!(
        err.message(),
        "Parameter at position [2] is not bound (line [1], column [57])"
    );
    // Misaligned parameters are caught like literals.
    let err = parse_query_with_parameters(
        sql,
        &[
            SqlParameter::new("TIMESTAMP", "2000-01-01 01:00:00"),
            params[1].clone(),
            params[2].clone(),
        ],
    )
    .unwrap_err();
    assert!(
        err.message()
            .starts_with("OVERWRITE WHERE clause identified interval"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// PARTITIONED BY
// ---------------------------------------------------------------------------------------------

#[test]
fn partitioned_by_keywords() {
    assert_eq!(granularity("ALL").unwrap(), Granularity::All);
    assert_eq!(granularity("ALL TIME").unwrap(), Granularity::All);
    assert_eq!(granularity("all time").unwrap(), Granularity::All);
    for (clause, g) in [
        ("SECOND", Granularity::Second),
        ("MINUTE", Granularity::Minute),
        ("FIVE_MINUTE", Granularity::FiveMinute),
        ("TEN_MINUTE", Granularity::TenMinute),
        ("FIFTEEN_MINUTE", Granularity::FifteenMinute),
        ("THIRTY_MINUTE", Granularity::ThirtyMinute),
        ("HOUR", Granularity::Hour),
        ("SIX_HOUR", Granularity::SixHour),
        ("EIGHT_HOUR", Granularity::EightHour),
        ("DAY", Granularity::Day),
        ("day", Granularity::Day),
        ("WEEK", Granularity::Week),
        ("MONTH", Granularity::Month),
        ("QUARTER", Granularity::Quarter),
        ("YEAR", Granularity::Year),
        ("P1D", Granularity::Day),
        ("PT1H", Granularity::Hour),
    ] {
        assert_eq!(granularity(clause).unwrap(), g, "{clause}");
    }
}

#[test]
fn partitioned_by_string_literals() {
    for g in Granularity::ALL_VALUES {
        assert_eq!(granularity(&format!("'{}'", g.name())).unwrap(), g);
        if let Some(period) = g.period() {
            assert_eq!(granularity(&format!("'{period}'")).unwrap(), g, "{period}");
        }
    }
    for (period, g) in [
        ("PT1S", Granularity::Second),
        ("PT1M", Granularity::Minute),
        ("PT5M", Granularity::FiveMinute),
        ("PT10M", Granularity::TenMinute),
        ("PT15M", Granularity::FifteenMinute),
        ("PT30M", Granularity::ThirtyMinute),
        ("PT1H", Granularity::Hour),
        ("PT6H", Granularity::SixHour),
        ("P1D", Granularity::Day),
        ("P1W", Granularity::Week),
        ("P1M", Granularity::Month),
        ("P3M", Granularity::Quarter),
        ("P1Y", Granularity::Year),
    ] {
        assert_eq!(granularity(&format!("'{period}'")).unwrap(), g);
        assert_eq!(
            granularity(&format!("TIME_FLOOR(__time, '{period}')")).unwrap(),
            g
        );
    }
}

#[test]
fn partitioned_by_floor() {
    for (unit, g) in [
        ("SECOND", Granularity::Second),
        ("MINUTE", Granularity::Minute),
        ("HOUR", Granularity::Hour),
        ("DAY", Granularity::Day),
        ("WEEK", Granularity::Week),
        ("MONTH", Granularity::Month),
        ("QUARTER", Granularity::Quarter),
        ("YEAR", Granularity::Year),
    ] {
        assert_eq!(
            granularity(&format!("FLOOR(__time TO {unit})")).unwrap(),
            g,
            "{unit}"
        );
    }
    assert_eq!(
        granularity("FLOOR(__time TO DECADE)")
            .unwrap_err()
            .message(),
        "DECADE is not a valid period granularity for ingestion."
    );
}

#[test]
fn partitioned_by_errors() {
    let expected = "Expected 'SECOND', 'MINUTE', 'FIVE_MINUTE', 'TEN_MINUTE', 'FIFTEEN_MINUTE', \
                    'THIRTY_MINUTE', 'HOUR', 'SIX_HOUR', 'EIGHT_HOUR', 'DAY', 'MONTH', 'QUARTER', \
                    'YEAR', 'ALL', ALL TIME, FLOOR() or TIME_FLOOR()";
    let err = granularity("'invalid_granularity'").unwrap_err();
    assert_eq!(
        err.message(),
        format!("Invalid granularity['invalid_granularity'] specified after PARTITIONED BY clause. {expected}")
    );
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert_eq!(err.category(), ErrorCategory::Plan);
    assert!(granularity("'PT2H'")
        .unwrap_err()
        .message()
        .starts_with("Invalid granularity['PT2H']"));
    assert!(granularity("'NONE'").is_err());
    assert!(granularity("TIME_FLOOR(__time, 'PT2H')")
        .unwrap_err()
        .message()
        .starts_with("Invalid granularity[TIME_FLOOR(__time, 'PT2H')]"));
    assert_eq!(
        granularity("TIME_FLOOR(__time, 'P1X')")
            .unwrap_err()
            .message(),
        "granularity['P1X'] is an invalid period literal."
    );
    assert_eq!(
        granularity("TIME_FLOOR(dim1, 'PT1H')").unwrap_err().message(),
        "Invalid argument[dim1] provided. The first argument to TIME_FLOOR in PARTITIONED BY clause must be __time."
    );
    assert_eq!(
        granularity("FLOOR(m1 TO DAY)").unwrap_err().message(),
        "Invalid argument[m1] provided. The first argument to FLOOR in PARTITIONED BY clause must be __time."
    );
    assert_eq!(
        granularity("TIME_FLOOR(__time, 'PT1H', NULL, 'UTC')")
            .unwrap_err()
            .message(),
        "TIME_FLOOR in PARTITIONED BY clause must have 2 arguments, but only [4] provided."
    );
    assert_eq!(
        granularity("CEIL(__time TO DAY)").unwrap_err().message(),
        format!("Invalid granularity[CEIL(__time TO DAY)] specified after PARTITIONED BY clause. {expected}")
    );
    assert_eq!(
        granularity("TIME_CEIL(__time, 'P1D')")
            .unwrap_err()
            .message(),
        "Invalid operator[TIME_CEIL] specified. PARTITIONED BY clause only supports \
         FLOOR(__time TO <unit>) and TIME_FLOOR(__time, period) functions."
    );
    let err = granularity("").unwrap_err();
    assert_eq!(err.code(), ErrorCode::SqlParseError);
    assert!(err.message().contains("expected: a granularity"), "{err}");
    let err = granularity("DAY DAY").unwrap_err();
    assert_eq!(err.code(), ErrorCode::SqlParseError);
}

// ---------------------------------------------------------------------------------------------
// CLUSTERED BY
// ---------------------------------------------------------------------------------------------

#[test]
fn clustered_by_names_ordinals_and_expressions() {
    let ingest = ingest(
        "INSERT INTO druid.dst SELECT __time, FLOOR(m1) as floor_m1, dim1, CEIL(m2) as ceil_m2 FROM foo \
         PARTITIONED BY FLOOR(__time TO DAY) CLUSTERED BY 2, dim1 ASC, CEIL(m2), \"dim 2\"",
    );
    assert_eq!(ingest.table, "dst");
    assert_eq!(ingest.partitioned_by, Granularity::Day);
    assert_eq!(ingest.clustered_by.len(), 4);
    assert_eq!(ingest.clustered_by[0], ClusterExpr::Ordinal(2));
    assert_eq!(ingest.clustered_by[1], ClusterExpr::Column("dim1".into()));
    assert!(matches!(&ingest.clustered_by[2], ClusterExpr::Expr(e) if e.to_string() == "CEIL(m2)"));
    assert_eq!(ingest.clustered_by[3], ClusterExpr::Column("dim 2".into()));
}

#[test]
fn clustered_by_errors() {
    let err = error("INSERT INTO t SELECT a, b FROM foo PARTITIONED BY DAY CLUSTERED BY 0");
    assert_eq!(
        err.message(),
        "Ordinal [0] specified in the CLUSTERED BY clause is invalid. It must be a positive integer."
    );
    let err = error("INSERT INTO t SELECT a, b FROM foo PARTITIONED BY DAY CLUSTERED BY -1");
    assert!(err.message().starts_with("Ordinal [-1]"), "{err}");
    let err = error("INSERT INTO t SELECT a, b FROM foo PARTITIONED BY DAY CLUSTERED BY 3");
    assert_eq!(err.message(), "Ordinal out of range");
    // With a wildcard the select list's length is unknown here; msq-plan checks it.
    assert!(parse_one("INSERT INTO t SELECT * FROM foo PARTITIONED BY DAY CLUSTERED BY 3").is_ok());
    let err = error("INSERT INTO t SELECT a FROM foo PARTITIONED BY DAY CLUSTERED BY a DESC");
    assert_eq!(err.code(), ErrorCode::InsertCannotOrderByDescending);
    assert_eq!(err.category(), ErrorCategory::Plan);
    let err = error("INSERT INTO t SELECT a FROM foo PARTITIONED BY DAY CLUSTERED BY");
    assert_eq!(err.code(), ErrorCode::SqlParseError);
}

#[test]
fn clustered_by_before_partitioned_by() {
    for sql in [
        "INSERT INTO druid.dst SELECT __time, FLOOR(m1) as floor_m1, dim1, CEIL(m2) as ceil_m2 FROM foo \
         CLUSTERED BY 2, dim1 DESC, CEIL(m2)",
        "REPLACE INTO dst OVERWRITE ALL SELECT __time, dim1 FROM foo CLUSTERED BY dim1 PARTITIONED BY DAY",
    ] {
        assert_eq!(
            error(sql).message(),
            "CLUSTERED BY found before PARTITIONED BY, CLUSTERED BY must come after the PARTITIONED BY clause"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// REPLACE and OVERWRITE
// ---------------------------------------------------------------------------------------------

#[test]
fn replace_overwrite_all() {
    let statement =
        parse_one("REPLACE INTO dst OVERWRITE ALL SELECT * FROM foo PARTITIONED BY ALL TIME")
            .unwrap();
    assert_eq!(statement.kind(), "REPLACE");
    let ingest = statement.ingest().unwrap();
    assert_eq!(ingest.overwrite, Some(Overwrite::All));
    assert_eq!(
        ingest.replace_time_chunks().unwrap().as_deref(),
        Some("all")
    );
    assert_eq!(
        serde_json::Value::Object(ingest.query_context().unwrap()),
        json!({"sqlInsertSegmentGranularity": "{\"type\":\"all\"}", "sqlReplaceTimeChunks": "all"})
    );
    let intervals = ingest.overwrite_intervals().unwrap().unwrap();
    assert_eq!(
        intervals
            .iter()
            .map(|i| format_interval(*i))
            .collect::<Vec<_>>(),
        ["-146136543-09-08T08:23:32.096Z/146140482-04-24T15:36:27.903Z"]
    );
}

#[test]
fn replace_overwrite_where() {
    let ingest = ingest(
        "REPLACE INTO dst OVERWRITE WHERE __time >= TIMESTAMP '2000-01-01 00:00:00' AND __time < TIMESTAMP '2000-01-02 00:00:00' \
         SELECT * FROM foo PARTITIONED BY DAY",
    );
    let Some(Overwrite::Where(condition)) = &ingest.overwrite else {
        panic!()
    };
    assert_eq!(
        condition.to_string(),
        "__time >= TIMESTAMP '2000-01-01 00:00:00' AND __time < TIMESTAMP '2000-01-02 00:00:00'"
    );
    assert_eq!(
        ingest
            .overwrite
            .as_ref()
            .unwrap()
            .overwrite_intervals(&Granularity::Day)
            .unwrap(),
        vec![(ts("2000-01-01"), ts("2000-01-02"))]
    );
    assert_eq!(
        ingest.replace_time_chunks().unwrap().unwrap(),
        "2000-01-01T00:00:00.000Z/2000-01-02T00:00:00.000Z"
    );
    assert_eq!(ingest.query.to_string(), "SELECT * FROM foo");

    let ingest = ingest_or_panic(
        "REPLACE INTO dst OVERWRITE WHERE \
         __time >= TIMESTAMP '2000-01-01' AND __time < TIMESTAMP '2000-02-01' \
         OR __time >= TIMESTAMP '2000-03-01' AND __time < TIMESTAMP '2000-04-01' \
         SELECT * FROM foo PARTITIONED BY MONTH",
    );
    assert_eq!(
        ingest.replace_time_chunks().unwrap().unwrap(),
        "2000-01-01T00:00:00.000Z/2000-02-01T00:00:00.000Z,2000-03-01T00:00:00.000Z/2000-04-01T00:00:00.000Z"
    );
    let ingest = ingest_or_panic(
        "REPLACE INTO dst OVERWRITE WHERE __time BETWEEN TIMESTAMP '2000-01-01' AND TIMESTAMP '2000-01-31 23:59:59.999' \
         WITH x AS (SELECT * FROM foo) SELECT * FROM x PARTITIONED BY MONTH",
    );
    assert_eq!(
        ingest.replace_time_chunks().unwrap().unwrap(),
        "2000-01-01T00:00:00.000Z/2000-02-01T00:00:00.000Z"
    );
}

fn ingest_or_panic(sql: &str) -> Ingest {
    ingest(sql)
}

#[test]
fn replace_errors() {
    let missing =
        "Missing time chunk information in OVERWRITE clause for REPLACE. Use OVERWRITE WHERE \
                   <__time based condition> or OVERWRITE ALL to overwrite the entire table.";
    assert_eq!(
        error("REPLACE INTO dst SELECT * FROM foo PARTITIONED BY ALL TIME").message(),
        missing
    );
    assert_eq!(
        error("REPLACE INTO dst OVERWRITE SELECT * FROM foo PARTITIONED BY ALL TIME").message(),
        missing
    );
    assert_eq!(
        error("REPLACE INTO dst OVERWRITE ALL SELECT __time, dim1 FROM foo").message(),
        "REPLACE statements must specify PARTITIONED BY clause explicitly"
    );
    assert_eq!(
        error("REPLACE INTO dst OVERWRITE WHERE __time >= TIMESTAMP '2000-01-05 00:00:00' AND __time <= TIMESTAMP '2000-01-06 00:00:00' SELECT * FROM foo PARTITIONED BY MONTH").message(),
        "OVERWRITE WHERE clause identified interval [2000-01-05T00:00:00.000Z/2000-01-06T00:00:00.001Z] \
         which is not aligned with PARTITIONED BY granularity [{type=period, period=P1M, timeZone=UTC, origin=null}]"
    );
    assert_eq!(
        error("REPLACE INTO dst OVERWRITE WHERE __time >= TIMESTAMP '2000-01-05 00:00:00' AND __time <= TIMESTAMP '2000-02-05 00:00:00' SELECT * FROM foo PARTITIONED BY ALL TIME").message(),
        "OVERWRITE WHERE clause identified interval [2000-01-05T00:00:00.000Z/2000-02-05T00:00:00.001Z] \
         which is not aligned with PARTITIONED BY granularity [AllGranularity]"
    );
    assert_eq!(
        error("REPLACE INTO dst OVERWRITE WHERE dim1 > TIMESTAMP '2000-01-05 00:00:00' SELECT * FROM foo PARTITIONED BY ALL TIME").message(),
        "OVERWRITE WHERE clause only supports filtering on the __time column, got [dim1 > TIMESTAMP '2000-01-05 00:00:00']"
    );
    assert_eq!(
        error("REPLACE INTO dst OVERWRITE WHERE __time LIKE '20__-02-01' SELECT * FROM foo PARTITIONED BY MONTH").message(),
        "Invalid OVERWRITE WHERE clause [__time LIKE '20__-02-01']: Unsupported operation [LIKE] in OVERWRITE WHERE clause."
    );
    assert!(error(
        "REPLACE INTO dst OVERWRITE WHERE __time < TIMESTAMP '2000-01-01' AND __time > TIMESTAMP '2000-01-01' SELECT * FROM foo PARTITIONED BY MONTH"
    )
    .message()
    .ends_with("produced no time intervals, are the bounds overly restrictive?"));
    assert!(error(
        "REPLACE INTO dst OVERWRITE WHERE __time >= TIMESTAMP '2000-01-INVALID0:00' AND __time <= TIMESTAMP '2000-02-05 00:00:00' SELECT * FROM foo PARTITIONED BY ALL TIME"
    )
    .message()
    .contains("Illegal TIMESTAMP literal '2000-01-INVALID0:00'"));
    assert_eq!(
        error("REPLACE INTO dst (foo, bar) OVERWRITE ALL SELECT dim1, dim2 FROM foo PARTITIONED BY ALL TIME").message(),
        "Operation [REPLACE] cannot be run with a target column list, given [dst (`foo`, `bar`)]"
    );
    assert_eq!(
        error("INSERT INTO dst OVERWRITE ALL SELECT 1 PARTITIONED BY ALL").message(),
        "OVERWRITE is only valid in REPLACE statements (line [1], column [17])"
    );
}

#[test]
fn target_table_rules() {
    assert_eq!(
        ingest("INSERT INTO \"druid\".\"dst\" SELECT 1 PARTITIONED BY ALL").table,
        "dst"
    );
    assert_eq!(
        ingest("INSERT INTO \"my table\" SELECT 1 PARTITIONED BY ALL").table,
        "my table"
    );
    assert_eq!(
        error("REPLACE INTO INFORMATION_SCHEMA.COLUMNS OVERWRITE ALL SELECT * FROM foo PARTITIONED BY ALL TIME").message(),
        "Table [INFORMATION_SCHEMA.COLUMNS] does not support operation [REPLACE] because it is not a Druid datasource"
    );
    assert_eq!(
        error("REPLACE INTO \"in/valid\" OVERWRITE ALL SELECT dim1, dim2 FROM foo PARTITIONED BY ALL TIME").message(),
        "Invalid value for field [table]: Value [in/valid] cannot contain '/'."
    );
    assert!(error("INSERT INTO \".hidden\" SELECT 1 PARTITIONED BY ALL")
        .message()
        .contains("cannot start with '.'"));
}

// ---------------------------------------------------------------------------------------------
// INSERT/REPLACE query validation
// ---------------------------------------------------------------------------------------------

#[test]
fn insert_without_partitioned_by() {
    let sql = "INSERT INTO dst SELECT * FROM TABLE(EXTERN('{\"type\":\"inline\",\"data\":\"a,b,1\\nc,d,2\\n\"}', \
               '{\"type\":\"csv\",\"columns\":[\"x\",\"y\",\"z\"]}', \
               '[{\"name\":\"x\",\"type\":\"string\"},{\"name\":\"y\",\"type\":\"string\"},{\"name\":\"z\",\"type\":\"long\"}]'))";
    let err = error(sql);
    assert_eq!(
        err.message(),
        "INSERT statements must specify PARTITIONED BY clause explicitly"
    );
    assert_eq!(
        (err.code(), err.category()),
        (ErrorCode::InvalidInput, ErrorCategory::Plan)
    );
    let with = format!("{sql} PARTITIONED BY ALL TIME");
    let inputs = parse_one(&with).unwrap().extern_inputs().unwrap();
    assert_eq!(
        inputs[0].input_source,
        json!({"type": "inline", "data": "a,b,1\nc,d,2\n"})
    );
    assert_eq!(
        inputs[0].signature_json(),
        json!([{"name": "x", "type": "STRING"}, {"name": "y", "type": "STRING"}, {"name": "z", "type": "LONG"}])
    );
}

#[test]
fn order_by_limit_offset_in_ingest() {
    assert_eq!(
        error("INSERT INTO dst SELECT * FROM foo ORDER BY 2 PARTITIONED BY ALL TIME").message(),
        "Cannot use an ORDER BY clause on a Query of type [INSERT], use CLUSTERED BY instead"
    );
    assert_eq!(
        error("REPLACE INTO dst OVERWRITE ALL SELECT * FROM foo ORDER BY dim1 PARTITIONED BY ALL TIME").message(),
        "Cannot use an ORDER BY clause on a Query of type [REPLACE], use CLUSTERED BY instead"
    );
    assert_eq!(
        error("INSERT INTO dst (SELECT * FROM foo ORDER BY dim1) PARTITIONED BY ALL TIME")
            .message(),
        "Cannot use an ORDER BY clause on a Query of type [INSERT], use CLUSTERED BY instead"
    );
    let limit = "INSERT and REPLACE queries cannot have a LIMIT unless PARTITIONED BY is \"ALL\".";
    assert_eq!(
        error(" INSERT INTO foo SELECT __time, m1 FROM foo LIMIT 50 PARTITIONED BY MONTH")
            .message(),
        limit
    );
    assert_eq!(
        error(" REPLACE INTO foo OVERWRITE ALL SELECT __time, m1 FROM foo LIMIT 50PARTITIONED BY MONTH").message(),
        limit
    );
    let offset = "INSERT and REPLACE queries cannot have an OFFSET.";
    assert_eq!(
        error(
            " INSERT INTO foo SELECT __time, m1 FROM foo LIMIT 50 OFFSET 10PARTITIONED BY ALL TIME"
        )
        .message(),
        offset
    );
    assert_eq!(
        error(" REPLACE INTO foo OVERWRITE ALL SELECT __time, m1 FROM foo LIMIT 50 OFFSET 10PARTITIONED BY ALL TIME").message(),
        offset
    );
    // LIMIT is fine with PARTITIONED BY ALL; ORDER BY inside a subquery is fine too.
    assert!(
        parse_one("INSERT INTO foo SELECT __time, m1 FROM foo LIMIT 50 PARTITIONED BY ALL").is_ok()
    );
    assert!(parse_one(
        "INSERT INTO foo SELECT * FROM (SELECT __time, m1 FROM foo ORDER BY m1 LIMIT 5) PARTITIONED BY DAY"
    )
    .is_ok());
}

#[test]
fn system_tables_parse_and_are_left_to_the_planner() {
    // The task engine refuses sys/INFORMATION_SCHEMA tables, but the interactive API answers
    // them, so the rule lives in msq-plan's query kit (which knows which engine plans).
    for sql in [
        "SELECT * FROM sys.segments",
        "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES",
        "SELECT * FROM foo WHERE x IN (SELECT datasource FROM sys.segments)",
    ] {
        let statement = parse_one(sql).unwrap();
        assert!(
            !msq_sql::referenced_tables(statement.query()).is_empty(),
            "{sql}"
        );
    }
}

#[test]
fn extern_with_named_arguments_and_extend() {
    let sql = "SELECT * FROM TABLE(EXTERN(inputSource => '{\"type\":\"local\",\"files\":[\"/tmp/a.json\"]}', \
               inputFormat => '{\"type\":\"json\"}')) EXTEND (\"timestamp\" VARCHAR, added BIGINT, ratio DOUBLE, f REAL, tags VARCHAR ARRAY, __time TIMESTAMP)";
    let statement = parse_one(sql).unwrap();
    let inputs = extern_inputs(statement.query()).unwrap();
    assert_eq!(
        inputs[0].input_source,
        json!({"type": "local", "files": ["/tmp/a.json"]})
    );
    assert_eq!(
        inputs[0].signature,
        vec![
            ("timestamp".to_string(), DruidType::String),
            ("added".to_string(), DruidType::Long),
            ("ratio".to_string(), DruidType::Double),
            ("f".to_string(), DruidType::Float),
            (
                "tags".to_string(),
                DruidType::Array(Box::new(DruidType::String))
            ),
            ("__time".to_string(), DruidType::Long),
        ]
    );
    // Without the EXTEND keyword, and with an alias after it.
    let sql =
        "SELECT t.x FROM TABLE(EXTERN(inputSource => '{\"type\":\"inline\",\"data\":\"a\"}', \
               inputFormat => '{\"type\":\"csv\",\"columns\":[\"x\"]}')) (x VARCHAR) AS t";
    let inputs = parse_one(sql).unwrap().extern_inputs().unwrap();
    assert_eq!(
        inputs[0].signature,
        vec![("x".to_string(), DruidType::String)]
    );
}

#[test]
fn extern_argument_errors() {
    let base = |src: &str, fmt: &str, sig: &str| {
        format!("SELECT * FROM TABLE(EXTERN('{src}', '{fmt}', '{sig}'))")
    };
    let err = error(&base("{\"type\":", "{\"type\":\"json\"}", "[]"));
    assert!(
        err.message()
            .starts_with("Invalid JSON in argument [inputSource] of EXTERN: "),
        "{err}"
    );
    let err = error(&base("{\"type\":\"http\"}", "json", "[]"));
    assert!(
        err.message()
            .starts_with("Invalid JSON in argument [inputFormat] of EXTERN: "),
        "{err}"
    );
    let err = error(&base(
        "{\"type\":\"http\"}",
        "{\"type\":\"json\"}",
        "[{\"name\":1}]",
    ));
    assert!(
        err.message()
            .starts_with("Argument [signature] of EXTERN must be a JSON array"),
        "{err}"
    );
    let err = error(&base(
        "{\"type\":\"http\"}",
        "{\"type\":\"json\"}",
        "[{\"name\":\"x\",\"type\":\"blob\"}]",
    ));
    assert_eq!(
        err.message(),
        "Argument [signature] of EXTERN: Unknown column type [blob] for column [x]"
    );
    let err = error(&base("[]", "{\"type\":\"json\"}", "[]"));
    assert_eq!(
        err.message(),
        "Argument [inputSource] of EXTERN must be a JSON object with a \"type\", got [[]]"
    );
    let err = error("SELECT * FROM TABLE(EXTERN('{\"type\":\"http\"}', '{\"type\":\"json\"}'))");
    assert!(
        err.message().starts_with("EXTERN requires a signature"),
        "{err}"
    );
    let err = error(
        "SELECT * FROM TABLE(EXTERN('{\"type\":\"http\"}', '{\"type\":\"json\"}', '[]')) EXTEND (x VARCHAR)",
    );
    assert_eq!(
        err.message(),
        "EXTERN takes either a signature argument or an EXTEND column list, not both"
    );
    let err = error("SELECT * FROM TABLE(EXTERN(1, '{\"type\":\"json\"}', '[]'))");
    assert_eq!(
        err.message(),
        "Argument [inputSource] of EXTERN must be a string holding JSON, got [1]"
    );
}

#[test]
fn http_table_function() {
    let sql = "SELECT * FROM TABLE(http(userName => 'bob', password => 'secret', \
               uris => ARRAY['http://msq.test/wiki.csv', 'http://msq.test/wiki2.csv'], format => 'csv', \
               listDelimiter => '|', skipHeaderRows => 1)) EXTEND (channel VARCHAR, added BIGINT)";
    let input = &parse_one(sql).unwrap().extern_inputs().unwrap()[0];
    assert_eq!(
        input.input_source,
        json!({
            "type": "http",
            "uris": ["http://msq.test/wiki.csv", "http://msq.test/wiki2.csv"],
            "httpAuthenticationUsername": "bob",
            "httpAuthenticationPassword": {"type": "default", "password": "secret"},
        })
    );
    assert_eq!(
        input.input_format,
        json!({
            "type": "csv",
            "columns": ["channel", "added"],
            "listDelimiter": "|",
            "findColumnsFromHeader": false,
            "skipHeaderRows": 1,
        })
    );
    let sql =
        "SELECT * FROM TABLE(http(uris => ARRAY['http://msq.test/a.tsv'], passwordEnvVar => 'PW', \
               format => 'tsv', delimiter => '|')) (x VARCHAR)";
    let input = &parse_one(sql).unwrap().extern_inputs().unwrap()[0];
    assert_eq!(
        input.input_source["httpAuthenticationPassword"],
        json!({"type": "environment", "variable": "PW"})
    );
    assert_eq!(
        input.input_format,
        json!({"type": "tsv", "columns": ["x"], "delimiter": "|", "findColumnsFromHeader": false, "skipHeaderRows": 0})
    );
    let sql = "SELECT * FROM TABLE(http(uris => ARRAY['http://msq.test/a.json'], format => 'json')) EXTEND (x VARCHAR)";
    assert_eq!(
        parse_one(sql).unwrap().extern_inputs().unwrap()[0].input_format,
        json!({"type": "json"})
    );
}

#[test]
fn http_table_function_errors() {
    let err = error("SELECT * FROM TABLE(http(uris => ARRAY['http://a'], format => 'csv'))");
    assert_eq!(
        err.message(),
        "Table function [http] needs its columns declared: TABLE(http(...)) EXTEND (<column> <type>, ...)"
    );
    let err =
        error("SELECT * FROM TABLE(http(uris => ARRAY['http://a'], format => 'xml')) (x VARCHAR)");
    assert_eq!(
        err.message(),
        "Format type [xml] for property [format] is not valid"
    );
    let err = error("SELECT * FROM TABLE(http(uris => ARRAY['http://a'])) (x VARCHAR)");
    assert_eq!(
        err.message(),
        "Must provide a value for the [format] parameter"
    );
    let err = error("SELECT * FROM TABLE(http(format => 'csv')) (x VARCHAR)");
    assert_eq!(
        err.message(),
        "One or more URIs is required in parameter uris"
    );
    let err = error("SELECT * FROM TABLE(http(uri => 'x', format => 'csv')) (x VARCHAR)");
    assert!(
        err.message()
            .starts_with("Unknown argument [uri] for table function [http]"),
        "{err}"
    );
    let err = error("SELECT * FROM TABLE(http('http://a', 'csv')) (x VARCHAR)");
    assert!(
        err.message()
            .starts_with("Table function [http] takes named arguments"),
        "{err}"
    );
    let err = error("SELECT * FROM TABLE(http(uris => ARRAY['a'], password => 'p', passwordEnvVar => 'E', format => 'csv')) (x VARCHAR)");
    assert_eq!(
        err.message(),
        "Specify only one of password or passwordEnvVar"
    );
    let err = error("SELECT * FROM TABLE(http(uris => ARRAY['a'], format => 'csv')) (x GEOMETRY)");
    assert_eq!(
        err.message(),
        "Unknown column type [GEOMETRY] for column [x]"
    );
    let err =
        error("SELECT * FROM TABLE(S3(uris => ARRAY['s3://a'], format => 'csv')) (x VARCHAR)");
    assert!(
        err.message().starts_with("Unsupported table function [S3]"),
        "{err}"
    );
}

#[test]
fn inline_table_function() {
    let sql = "SELECT * FROM TABLE(inline(data => ARRAY['a,1', 'b,2'], format => 'csv')) EXTEND (x VARCHAR, y BIGINT)";
    let input = &parse_one(sql).unwrap().extern_inputs().unwrap()[0];
    assert_eq!(
        input.input_source,
        json!({"type": "inline", "data": "a,1\nb,2\n"})
    );
    assert_eq!(input.input_format["columns"], json!(["x", "y"]));
    assert_eq!(input.signature[1], ("y".to_string(), DruidType::Long));
    let err = error("SELECT * FROM TABLE(inline(data => ARRAY[], format => 'csv')) (x VARCHAR)");
    assert_eq!(
        err.message(),
        "An inline table requires one or more rows of data in the 'data' property"
    );
}

#[test]
fn localfiles_table_function() {
    let input = |args: &str| {
        let sql = format!("SELECT * FROM TABLE(localfiles({args}, format => 'json')) (x VARCHAR)");
        parse_one(&sql).map(|s| s.extern_inputs().unwrap().remove(0).input_source)
    };
    assert_eq!(
        input("baseDir => '/tmp', filter => '*.csv'").unwrap(),
        json!({"type": "local", "baseDir": "/tmp", "filter": "*.csv"})
    );
    assert_eq!(
        input("baseDir => '/tmp'").unwrap(),
        json!({"type": "local", "baseDir": "/tmp", "filter": "*"})
    );
    assert_eq!(
        input("files => ARRAY['/a.json', '/b.json']").unwrap(),
        json!({"type": "local", "files": ["/a.json", "/b.json"]})
    );
    assert_eq!(
        input("baseDir => '/tmp/', files => ARRAY['a.json']").unwrap(),
        json!({"type": "local", "files": ["/tmp/a.json"]})
    );
    assert_eq!(
        input("filter => '*.csv'").unwrap_err().message(),
        "A local input source requires one parameter of baseDir or files"
    );
    assert_eq!(
        input("baseDir => '/tmp', filter => '*.csv', files => ARRAY['a']")
            .unwrap_err()
            .message(),
        "A local input source can set parameter files or filter, but not both."
    );
}

#[test]
fn table_functions_in_subqueries_and_joins() {
    let sql = "WITH ext AS (SELECT * FROM TABLE(inline(data => ARRAY['a'], format => 'csv')) (x VARCHAR)) \
               SELECT * FROM ext JOIN TABLE(http(uris => ARRAY['http://b'], format => 'json')) EXTEND (y BIGINT) h ON ext.x = h.y";
    let statement = parse_one(sql).unwrap();
    let inputs = statement.extern_inputs().unwrap();
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs[0].input_source["type"], "inline");
    assert_eq!(inputs[1].input_source["type"], "http");
    assert_eq!(
        inputs[1].signature,
        vec![("y".to_string(), DruidType::Long)]
    );
    assert_eq!(referenced_tables(statement.query()), Vec::<String>::new());
}

#[test]
fn extend_misuse() {
    let err = error("SELECT * FROM TABLE(http(uris => ARRAY['a'], format => 'csv')) AS t (a INT) EXTEND (b INT)");
    assert_eq!(err.code(), ErrorCode::SqlParseError);
    let err = error("SELECT * FROM TABLE(http(uris => ARRAY['a'], format => 'csv')) EXTEND ()");
    assert!(
        err.message()
            .starts_with("The EXTEND column list must declare at least one column"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// The pre-pass is not fooled by literals, identifiers and comments
// ---------------------------------------------------------------------------------------------

#[test]
fn clause_words_inside_literals_and_comments() {
    let sql = "INSERT INTO t\n\
               SELECT 'PARTITIONED BY HOUR CLUSTERED BY x' AS \"PARTITIONED BY\", -- PARTITIONED BY MONTH\n\
               /* CLUSTERED BY y; OVERWRITE ALL */ x\n\
               FROM TABLE(inline(data => ARRAY['PARTITIONED BY, (x'], format => 'csv')) (x VARCHAR)\n\
               WHERE x <> ') PARTITIONED BY YEAR'\n\
               PARTITIONED BY DAY -- CLUSTERED BY z\n\
               CLUSTERED BY x; -- trailing; comment";
    let ingest = ingest(sql);
    assert_eq!(ingest.partitioned_by, Granularity::Day);
    assert_eq!(ingest.clustered_by, vec![ClusterExpr::Column("x".into())]);
    assert!(ingest
        .query
        .to_string()
        .contains("'PARTITIONED BY HOUR CLUSTERED BY x' AS \"PARTITIONED BY\""));
    let inputs = extern_inputs(&ingest.query).unwrap();
    assert_eq!(inputs[0].input_source["data"], "PARTITIONED BY, (x\n");
}

#[test]
fn clause_words_inside_subqueries_are_not_clauses() {
    let err = error("INSERT INTO t SELECT * FROM (SELECT 1 PARTITIONED BY DAY) PARTITIONED BY DAY");
    assert_eq!(err.code(), ErrorCode::SqlParseError);
    let err = error("SELECT * FROM foo PARTITIONED BY DAY");
    assert_eq!(
        err.message(),
        "PARTITIONED BY is only valid in INSERT and REPLACE statements (line [1], column [19])"
    );
}

// ---------------------------------------------------------------------------------------------
// Syntax errors carry positions
// ---------------------------------------------------------------------------------------------

#[test]
fn syntax_errors_carry_line_and_column() {
    let err = error("SELECT a,\n  b\nFROM t WHERE = 1");
    assert_eq!(err.code(), ErrorCode::SqlParseError);
    assert_eq!(err.category(), ErrorCategory::Plan);
    assert_eq!(error_location(&err), Some((3, 14)));
    assert_eq!(
        err.message(),
        "Received an unexpected token [=] (line [3], column [14]), expected: an expression"
    );

    let err = error("INSERT INTO t\nSELECT x\nFROM foo WHERE\nPARTITIONED BY DAY");
    assert_eq!(
        err.message(),
        "Received an unexpected token [PARTITIONED] (line [4], column [1]), expected: an expression"
    );
    let err = error("SELECT 'unterminated");
    assert_eq!(
        err.message(),
        "Unterminated string literal (line [1], column [8])"
    );
    let err = error("SELECT (1 + 2");
    assert!(
        err.message()
            .starts_with("Unexpected end of SQL statement (line [1], column [14])"),
        "{err}"
    );
    let err = error("INSERT INTO t SELECT 1 FROM foo PARTITIONED BY DAY CLUSTERED BY x y");
    assert_eq!(
        err.message(),
        "Received an unexpected token [y] (line [1], column [67]), expected: end of statement"
    );
    let err = error("REPLACE INTO\n  t OVERWRITE WHERE __time >= PARTITIONED BY DAY");
    assert_eq!(error_location(&err), Some((2, 31)));
    let err = error("INSERT INTO t SELECT 1 PARTITIONED BY DAY CLUSTERED BY");
    assert_eq!(
        err.message(),
        "Unexpected end of SQL statement (line [1], column [55]), expected: an expression"
    );
    let err = error("INSERT INTO t SELECT 1 PARTITIONED BY\n  CLUSTERED BY x");
    assert_eq!(
        err.message(),
        "Received an unexpected token [CLUSTERED] (line [2], column [3]), expected: a granularity"
    );
    let err = error("SELECT TIMESTAMP '2000-13-01'");
    assert_eq!(
        err.message(),
        "Illegal TIMESTAMP literal '2000-13-01': not in format 'yyyy-MM-dd HH:mm:ss'"
    );
}

// ---------------------------------------------------------------------------------------------
// Display round-trips
// ---------------------------------------------------------------------------------------------

#[test]
fn statements_print_back_as_druid_sql() {
    for sql in [
        "INSERT INTO \"t\" SELECT __time, x FROM foo PARTITIONED BY DAY CLUSTERED BY \"x\", 2, FLOOR(y)",
        "REPLACE INTO \"t\" OVERWRITE ALL SELECT * FROM foo PARTITIONED BY ALL TIME",
        "REPLACE INTO \"t\" OVERWRITE WHERE __time >= TIMESTAMP '2000-01-01' AND __time < TIMESTAMP '2000-02-01' SELECT * FROM foo PARTITIONED BY MONTH",
        "EXPLAIN PLAN FOR INSERT INTO \"t\" SELECT * FROM TABLE(http(uris => ARRAY['http://a'], format => 'csv'))  (x VARCHAR, n BIGINT) PARTITIONED BY FIVE_MINUTE",
        "SELECT * FROM TABLE(inline(data => ARRAY['a'], format => 'csv')) AS t (x VARCHAR)",
    ] {
        let statement = parse_one(sql).unwrap();
        assert_eq!(statement.to_string(), sql);
        assert_eq!(parse_one(&statement.to_string()).unwrap(), statement, "{sql}");
    }
}

// ---------------------------------------------------------------------------------------------
// Granularity buckets
// ---------------------------------------------------------------------------------------------

#[test]
fn bucket_start_for_each_granularity() {
    let t = ts("2021-08-18 17:43:21.789"); // a Wednesday
    let cases = [
        (Granularity::Second, "2021-08-18 17:43:21"),
        (Granularity::Minute, "2021-08-18 17:43:00"),
        (Granularity::FiveMinute, "2021-08-18 17:40:00"),
        (Granularity::TenMinute, "2021-08-18 17:40:00"),
        (Granularity::FifteenMinute, "2021-08-18 17:30:00"),
        (Granularity::ThirtyMinute, "2021-08-18 17:30:00"),
        (Granularity::Hour, "2021-08-18 17:00:00"),
        (Granularity::SixHour, "2021-08-18 12:00:00"),
        (Granularity::EightHour, "2021-08-18 16:00:00"),
        (Granularity::Day, "2021-08-18"),
        (Granularity::Week, "2021-08-16"),
        (Granularity::Month, "2021-08-01"),
        (Granularity::Quarter, "2021-07-01"),
        (Granularity::Year, "2021-01-01"),
    ];
    for (g, start) in cases {
        assert_eq!(g.bucket_start(t), ts(start), "{g:?}");
    }
    assert_eq!(
        format_interval(Granularity::All.bucket(t)),
        "-146136543-09-08T08:23:32.096Z/146140482-04-24T15:36:27.903Z"
    );
}

#[test]
fn bucket_start_before_the_epoch() {
    let t = ts("1969-03-05 07:30:00.5"); // a Wednesday
    let cases = [
        (Granularity::Second, "1969-03-05 07:30:00"),
        (Granularity::FifteenMinute, "1969-03-05 07:30:00"),
        (Granularity::Hour, "1969-03-05 07:00:00"),
        (Granularity::SixHour, "1969-03-05 06:00:00"),
        (Granularity::Day, "1969-03-05"),
        (Granularity::Week, "1969-03-03"),
        (Granularity::Month, "1969-03-01"),
        (Granularity::Quarter, "1969-01-01"),
        (Granularity::Year, "1969-01-01"),
    ];
    for (g, start) in cases {
        assert_eq!(g.bucket_start(t), ts(start), "{g:?}");
    }
    assert_eq!(Granularity::Day.bucket_start(-1), ts("1969-12-31"));
    assert_eq!(Granularity::Week.bucket_start(-1), ts("1969-12-29"));
    assert_eq!(
        Granularity::Year.bucket_start(ts("-0001-06-01")),
        ts("-0001-01-01")
    );
}

#[test]
fn granularity_json_and_periods() {
    assert_eq!(Granularity::All.to_druid_json(), json!({"type": "all"}));
    assert_eq!(Granularity::Hour.to_druid_json(), json!("HOUR"));
    assert_eq!(Granularity::Quarter.period(), Some("P3M"));
    assert_eq!(Granularity::All.period(), None);
    assert_eq!(Granularity::Week.period(), Some("P1W"));
}
