//! Surveys as the service understands them: definitions, answers and their
//! validation, the language a respondent reads, and the demo tracker.

pub mod answers;
pub mod definition;
pub mod demo;
pub mod targets;

use serde::{Deserialize, Serialize};

pub use definition::{
    Localized, OptionDef, QuestionDef, QuestionKind, Role, Scale, SurveyDefinition,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// `?lang=` first, then the best `Accept-Language` match, then the survey's default.
    pub fn negotiate(query: Option<&str>, accept_language: Option<&str>, default: Lang) -> Lang {
        query
            .and_then(Lang::parse)
            .or_else(|| accept_language.and_then(Self::from_accept_language))
            .unwrap_or(default)
    }

    /// The supported language with the highest q-value ("en-GB;q=0.8, ru" → ru).
    fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            if let Some(lang) = Lang::parse(primary)
                && q > 0.0
                && best.is_none_or(|(best_q, _)| q > best_q)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Ru => Lang::En,
            Lang::En => Lang::Ru,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Open,
    Invitation,
}

/// A stored survey: its definition and its state.
#[derive(Debug, Clone)]
pub struct Survey {
    pub id: i32,
    pub status: Status,
    pub access: Access,
    /// The store holds generated (demo) responses for it.
    pub synthetic: bool,
    pub definition: SurveyDefinition,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_comes_from_query_then_header_then_default() {
        assert_eq!(Lang::negotiate(Some("en"), Some("ru"), Lang::Ru), Lang::En);
        assert_eq!(Lang::negotiate(Some("fr"), Some("ru"), Lang::En), Lang::Ru);
        assert_eq!(
            Lang::negotiate(None, Some("en-GB,en;q=0.9,ru;q=0.8"), Lang::Ru),
            Lang::En
        );
        assert_eq!(
            Lang::negotiate(None, Some("de, ru;q=0.5, en;q=0.4"), Lang::En),
            Lang::Ru
        );
        assert_eq!(Lang::negotiate(None, Some("de, fr"), Lang::En), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("en;q=0"), Lang::Ru), Lang::Ru);
        assert_eq!(Lang::negotiate(None, None, Lang::Ru), Lang::Ru);
    }
}
