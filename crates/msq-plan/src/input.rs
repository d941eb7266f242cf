//! What a stage reads (`InputSpec`; spec `druid-msq.md` §4.2).
//!
//! Each input of a stage is read through counter `input<N>`, N being its index in
//! [`StageDefinition::inputs`](crate::StageDefinition::inputs). The controller kernel slices
//! every input spec into per-worker input slices (`msq-kernel`'s slicers).

use crate::types::{signature_to_model, Signature};
use msq_common::StageNumber;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One input of a stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum InputSpec {
    /// `external`: rows of an input source (`http`, `inline`, `local`) in an input format,
    /// from `EXTERN(...)` or the `http`/`inline`/`localfiles` table functions (spec §1.2).
    #[serde(rename_all = "camelCase")]
    External {
        /// The input source JSON, e.g. `{"type": "http", "uris": [...]}`, written to the report
        /// as it is (explicit `null`s included).
        input_source: Value,
        /// The input format JSON, e.g. `{"type": "csv", "columns": [...]}`.
        input_format: Value,
        /// Columns read from the input.
        signature: Signature,
    },
    /// `stage`: the output partitions of an earlier stage.
    Stage {
        /// The stage read; always lower than the reading stage's number.
        stage: StageNumber,
    },
    /// `table`: segments of a datasource.
    #[serde(rename_all = "camelCase")]
    Table {
        /// The datasource.
        data_source: String,
        /// ISO-8601 intervals to read (`-146136543-09-08T08:23:32.096Z/146140482-04-24T15:36:27.903Z`
        /// for all time).
        intervals: Vec<String>,
    },
}

impl InputSpec {
    /// The stage this input reads, for `stage` inputs.
    pub fn stage_number(&self) -> Option<StageNumber> {
        match self {
            InputSpec::Stage { stage } => Some(*stage),
            _ => None,
        }
    }

    /// The input as Druid's report JSON.
    pub fn to_model(&self) -> msq_model::InputSpec {
        match self {
            InputSpec::External {
                input_source,
                input_format,
                signature,
            } => msq_model::InputSpec::External(msq_model::ExternalInputSpec {
                input_source: input_source.clone(),
                input_format: input_format.clone(),
                signature: signature_to_model(signature),
                extra: Map::new(),
            }),
            InputSpec::Stage { stage } => msq_model::InputSpec::Stage(msq_model::StageInputSpec {
                stage: stage.0,
                extra: Map::new(),
            }),
            // Druid writes `"filter": null` for a table input without a pruning filter.
            InputSpec::Table {
                data_source,
                intervals,
            } => msq_model::InputSpec::Table(msq_model::TableInputSpec {
                data_source: data_source.clone(),
                intervals: intervals.clone(),
                filter: Some(Value::Null),
                extra: Map::new(),
            }),
        }
    }
}
