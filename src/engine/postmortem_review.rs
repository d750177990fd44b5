//! Reviewing a postmortem in the browser: the sections a reviewer writes, and action items edited there.
//! Each save is one unit of work with its timeline event; permission is the `respond` action's.

use super::incidents::{Applied, check_text, check_user};
use super::unit::Unit;
use super::{Engine, EngineError};
use crate::domain::policy::Action;
use crate::domain::postmortem_review::Section;
use crate::domain::{ActionItem, Actor, EventKind, NewEvent};
use chrono::{DateTime, Utc};
use serde_json::json;

/// The longest section a reviewer may save, in characters.
pub const MAX_SECTION_LEN: usize = 20_000;

/// What an edit of an action item sets; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionEdit {
    /// New text.
    pub text: Option<String>,
    /// New owner; `Some(None)` removes the owner.
    pub owner: Option<Option<String>>,
    /// `open` or `done`.
    pub status: Option<String>,
    /// New due date; `Some(None)` removes it.
    pub due_at: Option<Option<DateTime<Utc>>>,
}

impl Engine {
    /// Whether `who` may edit incident `id`'s postmortem (the page shows its edit controls only then).
    pub async fn may_edit_postmortem(&self, id: i64, who: &Actor) -> Result<bool, EngineError> {
        let incident = self
            .store()
            .incident(id)
            .await?
            .ok_or(EngineError::NotFound(id))?;
        Ok(self.decide(Action::Respond, who, Some(&incident)).allowed)
    }

    /// Saves a reviewer's section as a `postmortem_section` event (an empty text empties the section).
    pub async fn save_postmortem_section(
        &self,
        id: i64,
        section: Section,
        text: &str,
        who: &Actor,
    ) -> Result<Applied, EngineError> {
        let text = text.trim().to_string();
        let n = text.chars().count();
        if n > MAX_SECTION_LEN {
            return Err(EngineError::invalid(
                "text",
                format!("is {n} characters long; at most {MAX_SECTION_LEN} are allowed"),
            ));
        }
        let actor = who.id.clone();
        let mut unit = self.unit().await?;
        let result = self
            .apply_in(&mut unit, id, |inc, now| {
                self.check(Action::Respond, who, Some(inc), None)?;
                Ok(vec![
                    NewEvent::new(EventKind::PostmortemSection, now, Some(&actor))
                        .text(text)
                        .data(json!({"section": section}))
                        .identified(who.identity()),
                ])
            })
            .await;
        self.finish(unit, Some((who, Some(id))), result).await
    }

    /// Edits action item `item_id` of incident `id`, with an `action_item` event saying what changed.
    pub async fn edit_action_item(
        &self,
        id: i64,
        item_id: i64,
        edit: ActionEdit,
        who: &Actor,
    ) -> Result<ActionItem, EngineError> {
        let mut unit = self.unit().await?;
        let result = self
            .edit_action_item_in(&mut unit, id, item_id, edit, who)
            .await;
        self.finish(unit, Some((who, Some(id))), result).await
    }

    /// [`Engine::edit_action_item`] inside `unit`.
    async fn edit_action_item_in(
        &self,
        unit: &mut Unit,
        id: i64,
        item_id: i64,
        edit: ActionEdit,
        who: &Actor,
    ) -> Result<ActionItem, EngineError> {
        let text = edit
            .text
            .as_deref()
            .map(|t| check_text("text", t))
            .transpose()?;
        let owner = match edit.owner {
            Some(Some(o)) if !o.trim().is_empty() => Some(Some(check_user("owner", &o)?)),
            Some(_) => Some(None),
            None => None,
        };
        if let Some(s) = &edit.status
            && s != "open"
            && s != "done"
        {
            return Err(EngineError::invalid("status", "must be open or done"));
        }
        let now = unit.now();
        let incident = unit.lock(id).await?;
        self.check(Action::Respond, who, Some(&incident), None)?;
        let mut item = unit.tx().action_item(id, item_id).await?.ok_or_else(|| {
            EngineError::invalid(
                "action_item",
                format!("incident #{id} has no action item #{item_id}"),
            )
        })?;
        let before = item.clone();
        if let Some(t) = text {
            item.text = t;
        }
        if let Some(o) = owner {
            item.owner = o;
        }
        if let Some(s) = edit.status {
            item.status = s;
        }
        if let Some(d) = edit.due_at {
            item.due_at = d;
        }
        if item == before {
            return Ok(item);
        }
        unit.tx().save_action_item(&item).await?;
        self.schedule_action_reminder(unit.tx(), &item, now).await?;
        let due = item
            .due_at
            .map(|d| format!(", due {}", d.format("%Y-%m-%d")))
            .unwrap_or_default();
        let owner_text = item.owner.as_deref().unwrap_or("no owner");
        let event = NewEvent::new(EventKind::ActionItem, now, Some(&who.id))
            .text(format!(
                "Action item #{item_id} edited: {} ({owner_text}, {}{due})",
                item.text, item.status
            ))
            .data(json!({
                "action_item": item.id, "edited": true, "text": item.text, "owner": item.owner,
                "status": item.status, "due_at": item.due_at,
            }))
            .identified(who.identity());
        unit.append(id, &event).await?;
        Ok(item)
    }
}
