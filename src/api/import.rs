use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// What to do with a record whose id already exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnConflict {
    /// Keep the existing node untouched (the default; makes a second run a no-op).
    #[default]
    Skip,
    /// Replace the stored fields with the record's.
    Overwrite,
}

/// `POST /v0/import/nodes` with options. The body may also be the legacy
/// file's top-level array as is. (serde's untagged enums cannot hold
/// borrowed `RawValue`s, so the daemon tells the two forms apart by their
/// first character.)
#[derive(Debug, Serialize, Deserialize)]
pub struct ImportBatch<'a> {
    #[serde(borrow)]
    pub nodes: Vec<&'a RawValue>,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub on_conflict: OnConflict,
    /// Index of the first record in the caller's whole file, so that a client
    /// sending batches gets record numbers that match the file.
    #[serde(default)]
    pub first_index: usize,
}

/// What an import did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImportReport {
    pub dry_run: bool,
    pub total: usize,
    pub imported: usize,
    pub updated: usize,
    pub skipped: usize,
    pub invalid: Vec<InvalidRecord>,
}

/// A record that could not be imported, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InvalidRecord {
    /// Position of the record in the array, from 0.
    pub index: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub reason: String,
}
