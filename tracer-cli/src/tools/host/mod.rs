//! Whole-host views and utilities: the USE checklist, doctor, merging saved histograms.

pub mod doctor;
pub mod merge;
pub mod use_method;
