//! Stage phases, as the controller and as a worker see them. Each phase enum owns its legal
//! transitions (`can_transition_from`), as Druid's `ControllerStagePhase` and
//! `WorkerStagePhase` do; the kernels refuse anything else with an internal error.

use serde::{Deserialize, Serialize};

/// A stage's phase on the controller (spec `druid-msq.md` §4.6):
///
/// ```text
/// NEW ─▶ READING_INPUT ─┬──────────────────▶ RESULTS_READY ─▶ FINISHED
///                       └─▶ POST_READING ──▶┘
///   (any non-terminal phase) ─▶ FAILED
/// ```
///
/// `POST_READING` happens only for stages that gather key statistics (a globally sorted
/// shuffle, [`msq_plan::ShuffleSpec::needs_statistics`]); use
/// [`can_transition_for_stage`](Self::can_transition_for_stage) to include that rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ControllerStagePhase {
    /// Created; workers not started.
    New,
    /// Workers read their input (and, when sorting, collect key statistics).
    ReadingInput,
    /// Statistics merged and partition boundaries sent; workers sort and partition.
    PostReading,
    /// All workers' output is ready for the next stage.
    ResultsReady,
    /// Every consumer is done; outputs may be cleaned, counters remain.
    Finished,
    /// Failed or canceled.
    Failed,
}

impl ControllerStagePhase {
    /// Whether `self` may follow `prior` (Druid's table; FAILED only from non-terminal phases).
    pub fn can_transition_from(self, prior: ControllerStagePhase) -> bool {
        use ControllerStagePhase::*;
        match self {
            New => false,
            ReadingInput => prior == New,
            PostReading => prior == ReadingInput,
            ResultsReady => matches!(prior, ReadingInput | PostReading),
            Finished => prior == ResultsReady,
            Failed => !prior.is_terminal(),
        }
    }

    /// [`can_transition_from`](Self::can_transition_from) for a stage that does or does not
    /// gather key statistics: such a stage must pass through `POST_READING`, any other must
    /// skip it.
    pub fn can_transition_for_stage(
        self,
        prior: ControllerStagePhase,
        gathers_statistics: bool,
    ) -> bool {
        use ControllerStagePhase::*;
        match (self, prior) {
            (PostReading, _) if !gathers_statistics => false,
            (ResultsReady, ReadingInput) if gathers_statistics => false,
            _ => self.can_transition_from(prior),
        }
    }

    /// No transition leaves this phase: `FINISHED` or `FAILED`.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ControllerStagePhase::Finished | ControllerStagePhase::Failed
        )
    }

    /// The stage produced its results: `RESULTS_READY` or `FINISHED` (Druid's
    /// `isSuccessfulTerminalPhase`).
    pub fn is_successful_terminal(self) -> bool {
        matches!(
            self,
            ControllerStagePhase::ResultsReady | ControllerStagePhase::Finished
        )
    }

    /// Workers are busy: `READING_INPUT` or `POST_READING`.
    pub fn is_running(self) -> bool {
        matches!(
            self,
            ControllerStagePhase::ReadingInput | ControllerStagePhase::PostReading
        )
    }

    /// The same phase in the report model.
    pub fn to_model(self) -> msq_model::StagePhase {
        match self {
            ControllerStagePhase::New => msq_model::StagePhase::New,
            ControllerStagePhase::ReadingInput => msq_model::StagePhase::ReadingInput,
            ControllerStagePhase::PostReading => msq_model::StagePhase::PostReading,
            ControllerStagePhase::ResultsReady => msq_model::StagePhase::ResultsReady,
            ControllerStagePhase::Finished => msq_model::StagePhase::Finished,
            ControllerStagePhase::Failed => msq_model::StagePhase::Failed,
        }
    }
}

/// A stage's phase on one worker (Druid's `WorkerStagePhase`):
///
/// ```text
/// NEW ─▶ READING_INPUT ─┬─────────────────────────────────────────────────────▶ RESULTS_READY ─▶ FINISHED
///                       └─▶ PRESHUFFLE_WAITING_FOR_RESULT_PARTITION_BOUNDARIES ─▶ PRESHUFFLE_WRITING_OUTPUT ─▶┘
///   (any non-terminal phase) ─▶ FAILED
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkerStagePhase {
    /// Work order received.
    New,
    /// Reading input (and collecting key statistics when the stage sorts globally).
    ReadingInput,
    /// Statistics sent; waiting for the controller's partition boundaries.
    PreshuffleWaitingForResultPartitionBoundaries,
    /// Boundaries known; sorting and writing partitioned output.
    PreshuffleWritingOutput,
    /// Output ready to be read by the next stage.
    ResultsReady,
    /// Output read and cleaned up.
    Finished,
    /// Failed or canceled.
    Failed,
}

impl WorkerStagePhase {
    /// Whether `self` may follow `prior` (Druid's table; FAILED only from non-terminal phases).
    pub fn can_transition_from(self, prior: WorkerStagePhase) -> bool {
        use WorkerStagePhase::*;
        match self {
            New => false,
            ReadingInput => prior == New,
            PreshuffleWaitingForResultPartitionBoundaries => prior == ReadingInput,
            PreshuffleWritingOutput => prior == PreshuffleWaitingForResultPartitionBoundaries,
            ResultsReady => matches!(prior, ReadingInput | PreshuffleWritingOutput),
            Finished => prior == ResultsReady,
            Failed => !prior.is_terminal(),
        }
    }

    /// No transition leaves this phase: `FINISHED` or `FAILED`.
    pub fn is_terminal(self) -> bool {
        matches!(self, WorkerStagePhase::Finished | WorkerStagePhase::Failed)
    }
}

impl WorkerStagePhase {
    /// The phase as Druid spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerStagePhase::New => "NEW",
            WorkerStagePhase::ReadingInput => "READING_INPUT",
            WorkerStagePhase::PreshuffleWaitingForResultPartitionBoundaries => {
                "PRESHUFFLE_WAITING_FOR_RESULT_PARTITION_BOUNDARIES"
            }
            WorkerStagePhase::PreshuffleWritingOutput => "PRESHUFFLE_WRITING_OUTPUT",
            WorkerStagePhase::ResultsReady => "RESULTS_READY",
            WorkerStagePhase::Finished => "FINISHED",
            WorkerStagePhase::Failed => "FAILED",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ControllerStagePhase as C;
    use WorkerStagePhase as W;

    const ALL: [C; 6] = [
        C::New,
        C::ReadingInput,
        C::PostReading,
        C::ResultsReady,
        C::Finished,
        C::Failed,
    ];

    #[test]
    fn controller_transitions() {
        let legal: Vec<(C, C)> = ALL
            .iter()
            .flat_map(|&from| ALL.iter().map(move |&to| (from, to)))
            .filter(|&(from, to)| to.can_transition_from(from))
            .collect();
        assert_eq!(
            legal,
            vec![
                (C::New, C::ReadingInput),
                (C::New, C::Failed),
                (C::ReadingInput, C::PostReading),
                (C::ReadingInput, C::ResultsReady),
                (C::ReadingInput, C::Failed),
                (C::PostReading, C::ResultsReady),
                (C::PostReading, C::Failed),
                (C::ResultsReady, C::Finished),
                (C::ResultsReady, C::Failed),
            ]
        );
        assert!(C::PostReading.can_transition_for_stage(C::ReadingInput, true));
        assert!(!C::PostReading.can_transition_for_stage(C::ReadingInput, false));
        assert!(!C::ResultsReady.can_transition_for_stage(C::ReadingInput, true));
        assert!(C::ResultsReady.can_transition_for_stage(C::ReadingInput, false));
        assert!(C::ResultsReady.is_successful_terminal() && C::Finished.is_successful_terminal());
        assert!(!C::ResultsReady.is_terminal() && C::Failed.is_terminal());
        assert_eq!(
            serde_json::to_string(&C::PostReading).unwrap(),
            "\"POST_READING\""
        );
        assert_eq!(
            serde_json::to_string(&C::ResultsReady).unwrap(),
            "\"RESULTS_READY\""
        );
    }

    #[test]
    fn worker_transitions() {
        assert!(W::ReadingInput.can_transition_from(W::New));
        assert!(
            W::PreshuffleWaitingForResultPartitionBoundaries.can_transition_from(W::ReadingInput)
        );
        assert!(W::PreshuffleWritingOutput
            .can_transition_from(W::PreshuffleWaitingForResultPartitionBoundaries));
        assert!(W::ResultsReady.can_transition_from(W::PreshuffleWritingOutput));
        assert!(W::ResultsReady.can_transition_from(W::ReadingInput));
        assert!(!W::ResultsReady.can_transition_from(W::New));
        assert!(W::Finished.can_transition_from(W::ResultsReady));
        assert!(W::Failed.can_transition_from(W::PreshuffleWritingOutput));
        assert!(!W::Failed.can_transition_from(W::Finished));
        assert!(!W::New.can_transition_from(W::Failed));
        assert_eq!(
            W::PreshuffleWaitingForResultPartitionBoundaries.as_str(),
            "PRESHUFFLE_WAITING_FOR_RESULT_PARTITION_BOUNDARIES"
        );
        assert_eq!(
            serde_json::to_string(&W::PreshuffleWritingOutput).unwrap(),
            "\"PRESHUFFLE_WRITING_OUTPUT\""
        );
    }
}
