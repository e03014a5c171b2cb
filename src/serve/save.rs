//! "Save as scenario": the page's changes as a variant file beside the
//! scenario (`extends` + the changed keys, each with its old value in a
//! comment), under a name the user gives.
//!
//! The file goes into the scenario's own folder and nowhere else: a name
//! with a path separator, `..`, a leading dot or anything but letters,
//! digits, `-`, `_` and `.` is refused. An existing file is replaced only
//! when its first line is [`MARKER`] (a file this command wrote); the
//! scenario itself and the files it extends are never replaced. The text
//! is parsed and validated, as `simulate` will read it, before it is
//! written, and it is written to a temporary file renamed into place.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::changes::{patch_text, Change, Refusal};
use crate::format::toml_string;
use crate::scenario::{self, Loaded};

/// The first line of every file `simulate serve` writes; only a file
/// that starts with it is ever replaced.
pub const MARKER: &str =
    "# Written by `simulate serve`: it replaces this file only while this line comes first.";

/// Longest name a variant may have.
pub const MAX_NAME: usize = 64;

/// The file name of a variant called `name` ("reset-q3" or
/// "reset-q3.toml" -> "reset-q3.toml"), or why the name is refused.
pub fn file_name(name: &str) -> Result<String, String> {
    let n = name.trim();
    let stem = n.strip_suffix(".toml").unwrap_or(n);
    if stem.is_empty() {
        return Err("give the variant a name, e.g. reset-quark-3".into());
    }
    if stem.chars().count() > MAX_NAME {
        return Err(format!("a name has at most {MAX_NAME} characters"));
    }
    if stem.contains(['/', '\\']) || stem.contains("..") {
        return Err(format!(
            "{n:?} is refused: a variant is saved beside the scenario, so its name has no path separators or `..`"
        ));
    }
    if stem.starts_with('.') || stem.starts_with('-') {
        return Err(format!(
            "{n:?} is refused: a name starts with a letter, digit or `_`"
        ));
    }
    if let Some(c) = stem
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "{n:?} is refused: {c:?} is not allowed (letters, digits, `-`, `_` and `.` are)"
        ));
    }
    Ok(format!("{stem}.toml"))
}

/// What a save needs to know about the scenario served.
pub struct Target<'a> {
    /// The scenario file served (as given on the command line).
    pub scenario: &'a Path,
    /// It, read and merged.
    pub loaded: &'a Loaded,
    /// The trials and seed of the scenario file, and those the page runs.
    pub file_trials: u64,
    pub file_seed: u64,
    pub trials: u64,
    pub seed: u64,
}

/// The variant's text.
pub fn text(t: &Target, changes: &[Change]) -> Result<String, Refusal> {
    let parent = t
        .scenario
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Refusal::request("the scenario's file name is not UTF-8 text"))?;
    let mut header = Vec::new();
    if t.trials != t.file_trials {
        header.push((
            format!("trials = {}", t.trials),
            format!("the page's trials ({parent} says {})", t.file_trials),
        ));
    }
    if t.seed != t.file_seed {
        header.push((
            format!("seed = {}", t.seed),
            format!("the page's seed ({parent} says {})", t.file_seed),
        ));
    }
    let mut out = format!("{MARKER}\n");
    out.push_str(&format!(
        "# A variant of {parent}: {} changed key{}, each with its value in {parent} in a comment.\n",
        changes.len(),
        if changes.len() == 1 { "" } else { "s" }
    ));
    out.push_str(&format!("extends = {}\n\n", toml_string(parent)));
    out.push_str(&patch_text(changes, &t.loaded.raw, &header, true));
    Ok(out)
}

/// Writes the variant `name` beside the scenario; returns its path.
pub fn save(t: &Target, name: &str, changes: &[Change]) -> Result<PathBuf, Refusal> {
    let file = file_name(name).map_err(Refusal::request)?;
    let dir = match t.scenario.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dest = dir.join(&file);
    // Never the scenario or a file it extends (nor a name a reader would
    // take for one: names compared as the file system may fold them).
    let canon_dir = std::fs::canonicalize(&dir)
        .map_err(|e| Refusal::request(format!("cannot read the folder {}: {e}", dir.display())))?;
    for f in t.loaded.files() {
        let f = std::fs::canonicalize(&f).unwrap_or(f);
        let same_dir = f.parent() == Some(canon_dir.as_path());
        let same_name = f
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.eq_ignore_ascii_case(&file));
        if same_dir && same_name {
            return Err(Refusal::request(format!(
                "{file} is the scenario or a file it extends; choose another name"
            )));
        }
    }
    match std::fs::symlink_metadata(&dest) {
        Ok(m) if !m.file_type().is_file() => {
            return Err(Refusal::request(format!(
                "{file} exists and is not a plain file; choose another name"
            )))
        }
        Ok(_) => {
            let first = std::fs::read(&dest)
                .ok()
                .and_then(|b| {
                    let line = b.split(|&c| c == b'\n').next()?.to_vec();
                    String::from_utf8(line).ok()
                })
                .unwrap_or_default();
            if first.trim_end_matches('\r') != MARKER {
                return Err(Refusal::request(format!(
                    "{file} exists and was not written by simulate serve; it is never replaced: choose another name"
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Refusal::request(format!("cannot check {file}: {e}")));
        }
    }
    let body = text(t, changes)?;
    // Read back as `simulate` will read it: refused here, not written.
    scenario::parse_raw(&dest, &body)
        .and_then(|l| l.scenario())
        .map_err(|e| Refusal::request(format!("the variant would not load: {e}")))?;
    let tmp = dir.join(format!(".{file}.serve-{}.tmp", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(body.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &dest)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Refusal::request(format!(
            "cannot write {}: {e}",
            dest.display()
        )));
    }
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_stay_in_the_folder() {
        assert_eq!(file_name("reset-q3").unwrap(), "reset-q3.toml");
        assert_eq!(file_name(" reset_q3.toml ").unwrap(), "reset_q3.toml");
        assert_eq!(file_name("v1.2").unwrap(), "v1.2.toml");
        for bad in [
            "",
            ".toml",
            "../x",
            "..",
            "a/b",
            "a\\b",
            "/etc/passwd",
            ".hidden",
            "-rf",
            "a b",
            "x..y",
            "é",
            "a\nb",
            "a\0b",
            &"x".repeat(MAX_NAME + 1),
        ] {
            assert!(file_name(bad).is_err(), "{bad:?}");
        }
    }

    fn setup() -> (tempfile::TempDir, PathBuf, Loaded) {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let path = dir.path().join("reset.toml");
        std::fs::copy(root.join("scenarios/reset.toml"), &path).unwrap();
        let loaded = scenario::load_raw(&path).unwrap();
        (dir, path, loaded)
    }

    #[test]
    fn saves_beside_and_never_over_a_file_it_did_not_write() {
        let (dir, path, loaded) = setup();
        let t = Target {
            scenario: &path,
            loaded: &loaded,
            file_trials: 100_000,
            file_seed: 20231116,
            trials: 20_000,
            seed: 20231116,
        };
        let cs = super::super::changes::parse(
            &loaded.raw,
            4,
            Some(&json!([{"path": ["policies", "reset", "units", "Quark", "budget"], "value": 3}])),
        )
        .unwrap();
        let out = save(&t, "quark3", &cs).unwrap();
        assert_eq!(out, dir.path().join("quark3.toml"));
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.starts_with(MARKER), "{text}");
        assert!(text.contains("extends = \"reset.toml\""), "{text}");
        assert!(text.contains("trials = 20000"), "{text}");
        assert!(!text.contains("seed ="), "{text}");
        assert!(
            text.contains("units = { Quark = { budget = 3 } }   # was: Quark.budget = 6"),
            "{text}"
        );
        let s = scenario::load(&out).unwrap();
        assert_eq!(s.trials, 20_000);
        // Its own file is replaced...
        save(&t, "quark3", &cs).unwrap();
        // ...another is not, nor the scenario, nor a link.
        std::fs::write(dir.path().join("mine.toml"), "# my notes\n").unwrap();
        let e = save(&t, "mine", &cs).unwrap_err();
        assert!(
            e.message.contains("not written by simulate serve"),
            "{}",
            e.message
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("mine.toml")).unwrap(),
            "# my notes\n"
        );
        let e = save(&t, "reset", &cs).unwrap_err();
        assert!(e.message.contains("extends"), "{}", e.message);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/hostname", dir.path().join("link.toml")).unwrap();
            assert!(save(&t, "link", &cs).is_err());
        }
        assert!(save(&t, "../escape", &cs).is_err());
        assert!(!dir.path().parent().unwrap().join("escape.toml").exists());
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }
}
