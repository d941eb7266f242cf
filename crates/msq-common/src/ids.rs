//! Newtype ids. Druid's JSON uses bare numbers for stage, worker and partition numbers (and the
//! same numbers as *string keys* in the counters tree), so each id serializes transparently and
//! displays as the bare number.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl $name {
            /// The number as an index into a `Vec`.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<u32> for $name {
            fn from(n: u32) -> Self {
                Self(n)
            }
        }
    };
}

id_newtype!(
    /// The position of a stage in a query's DAG (`stageNumber` in a report).
    StageNumber
);
id_newtype!(
    /// A worker of a stage, `0..workerCount` (the inner key of the counters tree).
    WorkerNumber
);
id_newtype!(
    /// An output partition of a stage; channel counter arrays are indexed by it.
    PartitionNumber
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_bare_numbers_in_json() {
        assert_eq!(serde_json::to_string(&StageNumber(3)).unwrap(), "3");
        assert_eq!(
            serde_json::from_str::<WorkerNumber>("7").unwrap(),
            WorkerNumber(7)
        );
        assert_eq!(PartitionNumber(2).to_string(), "2");
        assert_eq!(StageNumber(5).index(), 5);
    }
}
