//! Include/exclude regular expressions over object names (relative paths
//! of a file tree, table names of a database).

use regex::Regex;

use crate::error::{EngineError, Result};

#[derive(Debug, Clone, Default)]
pub struct Selector {
    include: Vec<Regex>,
    exclude: Vec<Regex>,
}

impl Selector {
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self> {
        let compile = |patterns: &[String], what: &str| -> Result<Vec<Regex>> {
            patterns
                .iter()
                .map(|p| {
                    Regex::new(p).map_err(|e| {
                        EngineError::invalid(format!("{what} pattern {p:?}"), e.to_string())
                    })
                })
                .collect()
        };
        Ok(Selector {
            include: compile(include, "include")?,
            exclude: compile(exclude, "exclude")?,
        })
    }

    /// Matched by an exclude pattern (a file tree skips what is below it too).
    pub fn excluded(&self, name: &str) -> bool {
        self.exclude.iter().any(|re| re.is_match(name))
    }

    /// Matched by an include pattern, or there are none.
    pub fn included(&self, name: &str) -> bool {
        self.include.is_empty() || self.include.iter().any(|re| re.is_match(name))
    }

    pub fn selects(&self, name: &str) -> bool {
        self.included(name) && !self.excluded(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_then_exclude_and_bad_patterns_named() {
        let s = Selector::new(&["^series/".into()], &[r"\.tmp$".into()]).unwrap();
        assert!(s.selects("series/a.csv"));
        assert!(!s.selects("series/a.tmp"));
        assert!(!s.selects("other/a.csv"));
        assert!(Selector::new(&[], &[]).unwrap().selects("anything"));
        let err = Selector::new(&["(unclosed".into()], &[]).unwrap_err();
        assert!(
            err.to_string().contains("include pattern \"(unclosed\""),
            "{err}"
        );
    }
}
