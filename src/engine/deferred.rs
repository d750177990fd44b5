//! A command whose answer may come later: when the platform's wait for the answer runs out (Discord
//! gives 3 s), the answer follows through the outbox, written in the same unit of work as what the
//! command did, so a crash between the two can lose neither.

use super::unit::Unit;
use super::{Engine, EngineError, Reply};
use crate::domain::Incident;
use crate::store::{LinkedChange, NewOutbox};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::Mutex;

/// What an answer may show besides the reply: the incident acted on and its linked changes, as
/// the command's unit sees them.
#[derive(Debug, Clone, Default)]
pub struct AnswerFacts {
    /// The incident the command acted on or created.
    pub incident: Option<Incident>,
    /// The changes linked to it.
    pub linked: Vec<LinkedChange>,
}

/// Renders an answer's body from the reply and its facts.
pub type Render = Box<dyn Fn(&Reply, &AnswerFacts) -> Value + Send + Sync>;

/// The follow-up to write when the answer is deferred: `entry` whose payload's `data` is `render`ed.
pub struct FollowUp {
    /// The outbox entry (idempotent on its key); its payload gets the rendered `data`.
    pub entry: NewOutbox,
    /// How the answer reads.
    pub render: Render,
}

enum State {
    /// The command runs; nobody has given up waiting.
    Waiting,
    /// The command committed while the platform still waited: it is answered inline.
    Answered,
    /// The platform's wait ran out: the answer follows with the command's work.
    Deferred(FollowUp),
}

/// The meeting point of a running command and the platform's wait for its answer.
#[derive(Clone)]
pub struct Deferral(Arc<Mutex<State>>);

impl Default for Deferral {
    fn default() -> Deferral {
        Deferral(Arc::new(Mutex::new(State::Waiting)))
    }
}

impl Deferral {
    /// A deferral nobody has given up on yet.
    pub fn new() -> Deferral {
        Deferral::default()
    }

    /// The platform's wait ran out: the answer is to follow as `follow_up`. True when it will (it
    /// is written with the command's work); false when the command committed first, so the answer
    /// is ready to be given inline. Waits for a commit under way.
    pub async fn defer(&self, follow_up: FollowUp) -> bool {
        let mut state = self.0.lock().await;
        match *state {
            State::Waiting => {
                *state = State::Deferred(follow_up);
                true
            }
            State::Deferred(_) => true,
            State::Answered => false,
        }
    }
}

impl Engine {
    /// [`Engine::run_command`] whose answer follows through the outbox, in the command's own unit,
    /// if `deferral` is deferred before the command commits.
    pub async fn run_command_deferrable(
        &self,
        text: &str,
        ctx: &super::CommandContext,
        deferral: &Deferral,
    ) -> Result<Reply, EngineError> {
        self.run_command_with(text, ctx, None, Some(deferral)).await
    }

    /// Commits `unit` holding `reply`: with the deferred answer's follow-up when `deferral` was
    /// deferred, else marking the answer as given inline (the lock keeps a late deferral waiting).
    pub(super) async fn commit_answering(
        &self,
        mut unit: Unit,
        reply: &Reply,
        deferral: Option<&Deferral>,
    ) -> Result<(), EngineError> {
        let Some(deferral) = deferral else {
            return self.commit(unit).await;
        };
        let follow_ups = {
            let mut state = deferral.0.lock().await;
            if let State::Deferred(follow_up) = &*state {
                let facts = self.answer_facts_in(&mut unit, reply).await?;
                let mut entry = follow_up.entry.clone();
                entry.payload["data"] = (follow_up.render)(reply, &facts);
                unit.enqueue(&entry).await?;
                unit.commit(Some(self.hub())).await?
            } else {
                let follow_ups = unit.commit(Some(self.hub())).await?;
                *state = State::Answered;
                follow_ups
            }
        };
        // Follow-ups (correlation …) run after the lock is given back: a late deferral need not wait.
        self.run_follow_ups(&follow_ups).await;
        Ok(())
    }

    /// The facts of `reply`'s incident as `unit` sees them.
    async fn answer_facts_in(
        &self,
        unit: &mut Unit,
        reply: &Reply,
    ) -> Result<AnswerFacts, EngineError> {
        let Some(id) = reply.incident_id else {
            return Ok(AnswerFacts::default());
        };
        Ok(AnswerFacts {
            incident: unit.try_lock(id).await?,
            linked: unit.tx().linked_changes(id).await?,
        })
    }

    /// The facts of `reply`'s incident once its command committed.
    pub async fn answer_facts(&self, reply: &Reply) -> Result<AnswerFacts, EngineError> {
        let Some(id) = reply.incident_id else {
            return Ok(AnswerFacts::default());
        };
        Ok(AnswerFacts {
            incident: self.store().incident(id).await?,
            linked: self.store().linked_changes(id).await?,
        })
    }
}
