//! Where a restore may create a new path on the server: below one of the
//! configured restore roots, never through a symbolic link and never with
//! `..`, whatever the service account could write. Only an admin, and only
//! when the server allows it, may restore elsewhere.

use std::path::{Component, Path, PathBuf};

use crate::model::{RestoreSettings, RestoreTarget, Role};

/// The restore roots of this server (each canonical, existing).
#[derive(Debug, Clone, Default)]
pub struct RestoreRoots {
    roots: Vec<PathBuf>,
    admin_anywhere: bool,
}

/// A new path found inside a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confined {
    /// The root it lies in; `None` for an admin allowed anywhere, outside all roots.
    pub root: Option<PathBuf>,
    /// Directories above the target that do not exist yet, outermost first:
    /// Start creates them.
    pub missing_dirs: Vec<PathBuf>,
}

impl RestoreRoots {
    /// `roots` must exist; they are resolved once here, so a root that is
    /// itself a link is used where it points.
    pub fn new(roots: &[PathBuf], admin_anywhere: bool) -> std::io::Result<Self> {
        let roots = roots
            .iter()
            .map(|r| r.canonicalize())
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(RestoreRoots {
            roots,
            admin_anywhere,
        })
    }

    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Whether an admin may restore outside the roots.
    pub fn admin_anywhere(&self) -> bool {
        self.admin_anywhere
    }

    /// Checks that `role` may create `path`; the error is a sentence for
    /// the form.
    pub fn confine(&self, path: &str, role: Role) -> Result<Confined, String> {
        let path = Path::new(path);
        if !path.is_absolute() {
            return Err(format!("{} is not an absolute path", path.display()));
        }
        if path
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
        {
            return Err(format!(
                "{} contains . or ..: give the path without them",
                path.display()
            ));
        }
        let Some(root) = self
            .roots
            .iter()
            .find(|root| path.starts_with(root) && path != root.as_path())
        else {
            if role == Role::Admin && self.admin_anywhere {
                // Anywhere means links are followed as the admin typed them.
                let mut missing: Vec<PathBuf> = path
                    .ancestors()
                    .skip(1)
                    .take_while(|p| !p.exists())
                    .map(Path::to_path_buf)
                    .collect();
                missing.reverse();
                return Ok(Confined {
                    root: None,
                    missing_dirs: missing,
                });
            }
            return Err(format!(
                "{} is outside the restore roots of this server ({}); choose a path below one of them",
                path.display(),
                self.listed()
            ));
        };
        Ok(Confined {
            root: Some(root.clone()),
            missing_dirs: missing_dirs(path, root)?,
        })
    }

    fn listed(&self) -> String {
        let roots: Vec<String> = self.roots.iter().map(|r| r.display().to_string()).collect();
        roots.join(", ")
    }
}

/// The confinement of a restore's new path for `role`; `None` when the
/// target is a data source (whose location an admin configured).
pub fn confine_target(
    roots: &RestoreRoots,
    settings: &RestoreSettings,
    role: Role,
) -> Option<Result<Confined, String>> {
    match &settings.target {
        RestoreTarget::NewPath(path) => Some(roots.confine(path, role)),
        RestoreTarget::Source(_) => None,
    }
}

/// Walks from `root` down to `path` without following links: a link below
/// the root could lead anywhere, so it is refused. Returns the missing
/// directories above the target.
fn missing_dirs(path: &Path, root: &Path) -> Result<Vec<PathBuf>, String> {
    let below = path.strip_prefix(root).unwrap_or(path);
    let mut at = root.to_path_buf();
    let mut missing = Vec::new();
    let parts: Vec<_> = below.components().collect();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let last = i + 1 == parts.len();
        if !missing.is_empty() {
            if !last {
                missing.push(at.clone());
            }
            continue;
        }
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(format!(
                    "{} is a symbolic link: restore paths are not followed through links",
                    at.display()
                ))
            }
            Ok(meta) if !last && !meta.is_dir() => {
                return Err(format!("{} is not a directory", at.display()))
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !last {
                    missing.push(at.clone());
                }
            }
            Err(e) => return Err(format!("{} cannot be examined: {e}", at.display())),
        }
    }
    Ok(missing)
}

/// Creates the missing directories one by one, refusing any that appeared
/// as something else (a link put there since the check).
pub fn create_missing(confined: &Confined) -> Result<(), String> {
    for dir in &confined.missing_dirs {
        match std::fs::create_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let meta = std::fs::symlink_metadata(dir)
                    .map_err(|e| format!("{} cannot be examined: {e}", dir.display()))?;
                if !meta.is_dir() {
                    return Err(format!(
                        "{} appeared as something other than a directory",
                        dir.display()
                    ));
                }
            }
            Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots(dir: &Path, anywhere: bool) -> RestoreRoots {
        RestoreRoots::new(&[dir.join("restores")], anywhere).unwrap()
    }

    #[test]
    fn paths_below_a_root_pass_and_name_missing_directories() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("restores")).unwrap();
        let root = dir.path().join("restores").canonicalize().unwrap();
        let r = roots(dir.path(), false);
        let target = root.join("a/b/plant.db");
        let confined = r.confine(target.to_str().unwrap(), Role::Operator).unwrap();
        assert_eq!(confined.root.as_deref(), Some(root.as_path()));
        assert_eq!(
            confined.missing_dirs,
            vec![root.join("a"), root.join("a/b")]
        );
        create_missing(&confined).unwrap();
        assert!(root.join("a/b").is_dir());
        let again = r.confine(target.to_str().unwrap(), Role::Operator).unwrap();
        assert!(again.missing_dirs.is_empty());
    }

    #[test]
    fn outside_dotdot_links_and_the_root_itself_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("restores")).unwrap();
        let root = dir.path().join("restores").canonicalize().unwrap();
        let r = roots(dir.path(), false);
        let outside = r.confine("/etc/cron.d/x", Role::Operator).unwrap_err();
        assert!(outside.contains("outside the restore roots"), "{outside}");
        let dotdot = format!("{}/../../etc/x", root.display());
        assert!(r.confine(&dotdot, Role::Admin).unwrap_err().contains(".."));
        assert!(r.confine(root.to_str().unwrap(), Role::Operator).is_err());
        std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
        let linked = root.join("link/cron.d/x");
        let err = r
            .confine(linked.to_str().unwrap(), Role::Operator)
            .unwrap_err();
        assert!(err.contains("symbolic link"), "{err}");
        assert!(r.confine("relative/x", Role::Operator).is_err());
    }

    #[test]
    fn only_an_allowed_admin_goes_outside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("restores")).unwrap();
        let elsewhere = dir.path().join("elsewhere/x.db");
        let path = elsewhere.to_str().unwrap();
        let strict = roots(dir.path(), false);
        assert!(strict.confine(path, Role::Admin).is_err());
        let lenient = roots(dir.path(), true);
        assert!(lenient.confine(path, Role::Operator).is_err());
        let confined = lenient.confine(path, Role::Admin).unwrap();
        assert_eq!(confined.root, None);
        assert_eq!(confined.missing_dirs, vec![dir.path().join("elsewhere")]);
    }
}
