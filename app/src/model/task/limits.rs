//! A task's bandwidth limits for its backups.

use serde::{Deserialize, Serialize};

use super::{parse_in, FieldError};

/// A task's bandwidth limits, in MiB per second (None: unlimited).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub read_mib: Option<u32>,
    pub upload_mib: Option<u32>,
}

impl Limits {
    /// The form's two fields (MiB/s, empty: none), problems into `errors`.
    pub(super) fn parse(read: &str, upload: &str, errors: &mut Vec<FieldError>) -> Self {
        let mut limit = |text: &str, field: &str| match text.trim() {
            "" => None,
            text => {
                let mib = parse_in(text, 1, 100_000);
                if mib.is_none() {
                    errors.push(FieldError::new(
                        field,
                        crate::tr!(validation.a_whole_number_of_mib_per, max = 100_000),
                    ));
                }
                mib
            }
        };
        Limits {
            read_mib: limit(read, "limit_read_mib"),
            upload_mib: limit(upload, "limit_upload_mib"),
        }
    }

    /// The engine's (bytes per second): read, upload.
    pub fn bytes_per_second(self) -> (Option<u64>, Option<u64>) {
        let bytes = |mib: Option<u32>| mib.map(|m| u64::from(m) << 20);
        (bytes(self.read_mib), bytes(self.upload_mib))
    }

    /// How the live progress and the run log name them.
    pub fn describe(self) -> Option<String> {
        let parts: Vec<String> = [("reading", self.read_mib), ("writing", self.upload_mib)]
            .into_iter()
            .filter_map(|(what, mib)| mib.map(|m| format!("{what} at most {m} MiB/s")))
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}
