//! Generic building blocks, not tied to the workbench.

pub mod json_viewer;
pub mod progress_bar;
