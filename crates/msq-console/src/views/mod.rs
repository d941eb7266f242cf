//! The page's views: the header bar and the Query view (workbench).

pub mod header_bar;
pub mod workbench;
