//! The chart catalogue: one small TOML file per chart in `charts/` (survey,
//! question, metric, breakdown, interval, weighting, titles ru/en), read and
//! checked at start; `/` shows it, each entry a permalink into the dashboard.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::analysis::params;
use crate::survey::{Lang, Localized, SurveyDefinition};

/// One chart of the catalogue.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The file's name without `.toml`.
    #[serde(skip)]
    pub name: String,
    pub survey: String,
    pub question: String,
    pub metric: Option<String>,
    pub option: Option<String>,
    pub by: Option<String>,
    #[serde(default = "month")]
    pub interval: String,
    pub weighted: Option<bool>,
    pub smooth: Option<u32>,
    /// Draw the change points' levels.
    #[serde(default)]
    pub changes: bool,
    pub title: Localized,
}

fn month() -> String {
    "month".into()
}

impl Entry {
    /// The series parameters the entry stands for (what the dashboard's
    /// permalink and the chart URL carry).
    pub fn query(&self) -> Vec<(String, String)> {
        let mut q = vec![("question".to_string(), self.question.clone())];
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                q.push((k.to_string(), v));
            }
        };
        put("metric", self.metric.clone());
        put("option", self.option.clone());
        put("by", self.by.clone());
        put("interval", Some(self.interval.clone()));
        put("weighted", self.weighted.map(|w| w.to_string()));
        put("smooth", self.smooth.map(|s| s.to_string()));
        if self.changes {
            put("changes", Some("true".into()));
        }
        q
    }

    pub fn title(&self, lang: Lang) -> &str {
        self.title.get(lang)
    }

    /// Whether the entry's series parameters fit `definition`.
    pub fn check(
        &self,
        definition: &SurveyDefinition,
        has_targets: bool,
        has_waves: bool,
    ) -> Result<(), String> {
        if self.survey != definition.slug {
            return Err(format!("is for survey {:?}", self.survey));
        }
        let query: HashMap<String, String> = self
            .query()
            .into_iter()
            .filter(|(k, _)| k != "changes")
            .collect();
        params::parse(definition, has_targets, has_waves, &query, &[])
            .map(|_| ())
            .map_err(|details| {
                details
                    .iter()
                    .map(|d| d.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
    }
}

/// Every `*.toml` in `dir`, by file name; a missing directory is an empty
/// catalogue, a file that does not parse an error naming it.
pub fn load(dir: &Path) -> Result<Vec<Entry>, String> {
    let listing = match std::fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut files: Vec<_> = listing
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut entry: Entry =
                toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            entry.name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(entry)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::demo;

    #[test]
    fn the_shipped_catalogue_fits_the_demo_survey() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("charts");
        let entries = load(&dir).unwrap();
        assert!(entries.len() >= 6, "{entries:?}");
        let definition = demo::definition();
        for entry in &entries {
            assert_eq!(
                entry.check(&definition, true, false),
                Ok(()),
                "{}",
                entry.name
            );
            assert!(!entry.title(Lang::Ru).is_empty() && !entry.title(Lang::En).is_empty());
        }
        assert!(
            entries
                .iter()
                .any(|e| e.question == "portal_trust" && e.by.as_deref() == Some("settlement"))
        );
    }

    #[test]
    fn bad_entries_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "survey = \"digital-trust\"\nquestion = \"portal_trust\"\ncolour = \"red\"\n[title]\nru = \"x\"\nen = \"y\"\n").unwrap();
        let error = load(dir.path()).unwrap_err();
        assert!(
            error.contains("a.toml") && error.contains("colour"),
            "{error}"
        );

        std::fs::write(dir.path().join("a.toml"), "survey = \"digital-trust\"\nquestion = \"portal_trust\"\nmetric = \"share\"\n[title]\nru = \"x\"\nen = \"y\"\n").unwrap();
        let entries = load(dir.path()).unwrap();
        assert_eq!(entries[0].name, "a");
        let problem = entries[0]
            .check(&demo::definition(), true, false)
            .unwrap_err();
        assert!(problem.contains("share"), "{problem}");
        assert_eq!(load(&dir.path().join("missing")).unwrap(), Vec::new());
    }
}
