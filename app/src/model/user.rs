//! Console users and roles, shared by the browser (what to show) and the
//! server (what to allow; the server alone decides).

use serde::{Deserialize, Serialize};

/// What a user may do. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything but secrets.
    Viewer,
    /// Also runs backups and restores, and creates restore tasks.
    Operator,
    /// Everything: users, sources, repositories, tasks, deleting backups.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Whether this role may do what `needed` may.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The signed-in user, as the header and pages see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub username: String,
    pub role: Role,
    pub must_change_password: bool,
    /// One of [`THEMES`].
    #[serde(default)]
    pub theme: String,
    /// The console language the user chose ("" follows the browser).
    #[serde(default)]
    pub locale: String,
}

/// The console's themes: `auto` follows the operating system's preference.
pub const THEMES: [&str; 3] = ["auto", "light", "dark"];

/// The theme after `current` in the header switch's cycle.
pub fn next_theme(current: &str) -> &'static str {
    match current {
        "light" => "dark",
        "dark" => "auto",
        _ => "light",
    }
}

pub const MIN_PASSWORD: usize = 12;

/// A new password's problems, if any.
pub fn password_problem(password: &str, username: &str) -> Option<String> {
    if password.chars().count() < MIN_PASSWORD {
        Some(crate::tr!(validation.at_least_chars, min = MIN_PASSWORD))
    } else if password.eq_ignore_ascii_case(username) {
        Some(crate::tr!(validation.not_the_user_name))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_include_the_ones_before_them() {
        assert!(Role::Admin.allows(Role::Operator));
        assert!(Role::Operator.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Operator));
        assert!(!Role::Operator.allows(Role::Admin));
        assert_eq!(Role::parse("operator"), Some(Role::Operator));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn passwords_are_long_and_not_the_name() {
        assert!(password_problem("short", "ann").is_some());
        assert!(password_problem("administrator", "Administrator").is_some());
        assert!(password_problem("correct horse battery", "ann").is_none());
    }
}
