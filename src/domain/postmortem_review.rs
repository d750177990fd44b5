//! The parts of a postmortem a reviewer writes (contributing factors, lessons, follow-ups), kept apart
//! from the generated draft: each save is a `postmortem_section` timeline event, the newest one wins.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A section a reviewer fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// What contributed, in the reviewer's words (beside the changes the draft lists).
    ContributingFactors,
    /// What was learnt.
    Lessons,
    /// What happens next, beyond the action items.
    FollowUps,
}

impl Section {
    /// Every section, in the order the page shows them.
    pub const ALL: [Section; 3] = [
        Section::ContributingFactors,
        Section::Lessons,
        Section::FollowUps,
    ];

    /// The stored and form name (`contributing_factors` …).
    pub fn as_str(self) -> &'static str {
        match self {
            Section::ContributingFactors => "contributing_factors",
            Section::Lessons => "lessons",
            Section::FollowUps => "follow_ups",
        }
    }

    /// The heading people read.
    pub fn title(self) -> &'static str {
        match self {
            Section::ContributingFactors => "Contributing factors (review)",
            Section::Lessons => "Lessons learnt",
            Section::FollowUps => "Follow-ups",
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A section name that is not one of the three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown section `{0}`: expected one of contributing_factors, lessons, follow_ups")]
pub struct UnknownSection(pub String);

impl FromStr for Section {
    type Err = UnknownSection;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Section::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| UnknownSection(s.to_string()))
    }
}

/// What a reviewer wrote in one section, and who last saved it when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionText {
    /// The text (Markdown is escaped in the export like every other text).
    pub text: String,
    /// Who saved it last.
    pub by: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The reviewer-written sections; `None` while a section was never filled in (or was emptied).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// Contributing factors.
    pub contributing_factors: Option<SectionText>,
    /// Lessons learnt.
    pub lessons: Option<SectionText>,
    /// Follow-ups.
    pub follow_ups: Option<SectionText>,
}

impl Review {
    /// Records a save of `section`; an empty text empties the section.
    pub fn set(&mut self, section: Section, text: &str, by: Option<String>, at: DateTime<Utc>) {
        let value = (!text.trim().is_empty()).then(|| SectionText {
            text: text.trim().to_string(),
            by,
            at,
        });
        *self.slot(section) = value;
    }

    /// The text of `section`, if filled in.
    pub fn get(&self, section: Section) -> Option<&SectionText> {
        match section {
            Section::ContributingFactors => self.contributing_factors.as_ref(),
            Section::Lessons => self.lessons.as_ref(),
            Section::FollowUps => self.follow_ups.as_ref(),
        }
    }

    fn slot(&mut self, section: Section) -> &mut Option<SectionText> {
        match section {
            Section::ContributingFactors => &mut self.contributing_factors,
            Section::Lessons => &mut self.lessons,
            Section::FollowUps => &mut self.follow_ups,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_save_wins_and_an_empty_one_clears() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let mut r = Review::default();
        r.set(Section::Lessons, " first ", Some("alice".into()), at);
        r.set(Section::Lessons, "second", Some("bob".into()), at);
        assert_eq!(r.get(Section::Lessons).unwrap().text, "second");
        assert_eq!(r.get(Section::Lessons).unwrap().by.as_deref(), Some("bob"));
        r.set(Section::Lessons, "  ", None, at);
        assert!(r.lessons.is_none());
        assert_eq!("follow_ups".parse::<Section>().unwrap(), Section::FollowUps);
        assert!("bogus".parse::<Section>().is_err());
    }
}
