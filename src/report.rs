//! Progress events: stages tell a `Reporter` what they are doing and never touch the terminal.
//! `ui` renders events with indicatif or as JSON lines; tests record them.

use std::sync::Mutex;
use std::time::Duration;

/// Something a stage did that a person or a machine may want to see.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A pipeline stage began (`resolve`, `fetch`, `build`, `stage`, `configure`, `image`, `boot`).
    StageStarted {
        stage: String,
        total: Option<u64>,
    },
    StageFinished {
        stage: String,
    },
    /// A unit of work (a package build, a download) began. `id` is stable within a run.
    TaskStarted {
        id: String,
        what: String,
    },
    /// A task moved to a new step (a build phase, "pack", "verify").
    TaskStep {
        id: String,
        step: String,
    },
    /// Bytes done out of total for a task that moves data.
    TaskBytes {
        id: String,
        done: u64,
        total: Option<u64>,
    },
    TaskFinished {
        id: String,
        outcome: Outcome,
        #[serde(with = "secs")]
        elapsed: Duration,
    },
    /// Expected remaining time of the whole stage, from the critical path.
    Eta {
        #[serde(with = "secs")]
        remaining: Duration,
    },
    /// A line for the user that is neither progress nor an error (`einfo`, a warning).
    Message {
        level: Level,
        text: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Built,
    Cached,
    Substituted,
    Fetched,
    /// Merged into a staging root.
    Merged,
    /// Sent to a remote cache.
    Uploaded,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Info,
    Warning,
}

pub trait Reporter: Send + Sync {
    fn event(&self, event: Event);
}

/// Drops every event (library use without a UI).
pub struct Silent;

impl Reporter for Silent {
    fn event(&self, _: Event) {}
}

/// Keeps every event, for tests.
#[derive(Default)]
pub struct Recorder(Mutex<Vec<Event>>);

impl Recorder {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// The text of every warning reported so far, in order.
    pub fn warnings(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Message { level: Level::Warning, text } => Some(text),
                _ => None,
            })
            .collect()
    }
}

impl Reporter for Recorder {
    fn event(&self, event: Event) {
        if let Ok(mut v) = self.0.lock() {
            v.push(event);
        }
    }
}

mod secs {
    pub fn serialize<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
    }
}
