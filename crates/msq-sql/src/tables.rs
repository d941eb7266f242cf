//! Which tables a query reads.

use sqlparser::ast::{ObjectName, Query, Visit, Visitor};
use std::ops::ControlFlow;

/// The tables (datasources, `sys.*`, `INFORMATION_SCHEMA.*`, lookups …) that `query` reads,
/// as written (`"druid.foo"` stays qualified; quotes are dropped), deduplicated, in order of
/// first appearance. Names of common table expressions (`WITH x AS ...`) are not tables and
/// are left out where they are in scope. Table functions (`TABLE(...)`) are not listed; see
/// [`extern_inputs`](crate::extern_inputs).
pub fn referenced_tables(query: &Query) -> Vec<String> {
    struct Collect {
        tables: Vec<String>,
        /// CTE names visible at the current point, one frame per enclosing query.
        ctes: Vec<Vec<String>>,
    }
    impl Visitor for Collect {
        type Break = ();
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            let names = query
                .with
                .iter()
                .flat_map(|w| w.cte_tables.iter().map(|c| c.alias.name.value.clone()))
                .collect();
            self.ctes.push(names);
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
            self.ctes.pop();
            ControlFlow::Continue(())
        }
        fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
            let parts = object_name_parts(relation);
            let is_cte = parts.len() == 1 && self.ctes.iter().flatten().any(|c| *c == parts[0]);
            let name = parts.join(".");
            if !is_cte && !self.tables.contains(&name) {
                self.tables.push(name);
            }
            ControlFlow::Continue(())
        }
    }
    let mut collect = Collect {
        tables: Vec::new(),
        ctes: Vec::new(),
    };
    let _ = query.visit(&mut collect);
    collect.tables
}

/// The parts of a (possibly compound) table name as written, unquoted: `sys.segments` →
/// `["sys", "segments"]`, `"my table"` → `["my table"]`.
pub fn object_name_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|p| {
            p.as_ident()
                .map(|i| i.value.clone())
                .unwrap_or_else(|| p.to_string())
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::dialect::DruidDialect;
    use sqlparser::parser::Parser;

    fn tables(sql: &str) -> Vec<String> {
        let query = Parser::new(&DruidDialect)
            .try_with_sql(sql)
            .unwrap()
            .parse_query()
            .unwrap();
        referenced_tables(&query)
    }

    #[test]
    fn lists_tables_in_joins_subqueries_and_unions() {
        assert_eq!(
            tables(
                "SELECT * FROM foo JOIN \"druid\".\"bar\" ON foo.a = bar.a \
                 WHERE x IN (SELECT y FROM sys.segments) UNION ALL SELECT * FROM foo"
            ),
            ["foo", "druid.bar", "sys.segments"]
        );
    }

    #[test]
    fn leaves_out_ctes_and_table_functions() {
        assert_eq!(
            tables(
                "WITH a AS (SELECT * FROM INFORMATION_SCHEMA.COLUMNS) \
                 SELECT * FROM a, TABLE(http(uris => ARRAY['x'])) t"
            ),
            ["INFORMATION_SCHEMA.COLUMNS"]
        );
    }
}
