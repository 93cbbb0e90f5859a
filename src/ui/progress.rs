//! Progress for long operations: an indicatif view on a terminal (one line per running task, an
//! overall bar with done/total and an ETA from the critical path), plain lines otherwise, a JSON
//! event stream with `--json`, or nothing with `-q`. Stages only send `report::Event`s.

use crate::report::{Event, Level, Outcome, Reporter};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bars,
    Lines,
    Json,
    Quiet,
}

impl Mode {
    /// Bars on a terminal, lines otherwise; `--json` and `-q` override.
    pub fn pick(json: bool, quiet: bool) -> Mode {
        if json {
            Mode::Json
        } else if quiet {
            Mode::Quiet
        } else if std::io::stdout().is_terminal() {
            Mode::Bars
        } else {
            Mode::Lines
        }
    }
}

pub struct Progress {
    mode: Mode,
    state: Mutex<State>,
}

struct State {
    multi: MultiProgress,
    overall: Option<ProgressBar>,
    tasks: HashMap<String, ProgressBar>,
    stage: String,
}

impl Progress {
    pub fn new(mode: Mode) -> Progress {
        let target =
            if mode == Mode::Bars { ProgressDrawTarget::stdout() } else { ProgressDrawTarget::hidden() };
        let state = State {
            multi: MultiProgress::with_draw_target(target),
            overall: None,
            tasks: HashMap::new(),
            stage: String::new(),
        };
        Progress { mode, state: Mutex::new(state) }
    }

    /// Prints a line above the bars (or as a plain line), unless quiet or JSON.
    pub fn println(&self, line: &str) {
        match self.mode {
            Mode::Bars => {
                if let Ok(s) = self.state.lock() {
                    let _ = s.multi.println(line);
                }
            }
            Mode::Lines => println!("{line}"),
            Mode::Json | Mode::Quiet => {}
        }
    }

    /// Removes the bars, leaving the screen to the summary.
    pub fn finish(&self) {
        if let Ok(mut s) = self.state.lock() {
            for (_, b) in s.tasks.drain() {
                b.finish_and_clear();
            }
            if let Some(o) = s.overall.take() {
                o.finish_and_clear();
            }
            let _ = s.multi.clear();
        }
    }

    fn bars(&self, event: Event) {
        let Ok(mut s) = self.state.lock() else { return };
        match event {
            Event::StageStarted { stage, total } => {
                if let Some(o) = s.overall.take() {
                    o.finish_and_clear();
                }
                let bar = s.multi.add(ProgressBar::new(total.unwrap_or(0)));
                let template = if total.is_some() {
                    "{prefix:>9.bold} [{bar:30}] {pos}/{len} {elapsed_precise} {msg}"
                } else {
                    "{prefix:>9.bold} {spinner} {elapsed_precise} {msg}"
                };
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_prefix(stage.clone());
                bar.enable_steady_tick(Duration::from_millis(200));
                s.stage = stage;
                s.overall = Some(bar);
            }
            Event::StageFinished { .. } => {
                if let Some(o) = s.overall.take() {
                    o.finish_and_clear();
                }
            }
            Event::TaskStarted { id, what } => {
                let bar = s.multi.add(ProgressBar::new_spinner());
                if let Ok(style) = ProgressStyle::with_template("  {spinner} {prefix} {msg} ({elapsed})") {
                    bar.set_style(style);
                }
                bar.set_prefix(id.clone());
                bar.set_message(what);
                bar.enable_steady_tick(Duration::from_millis(200));
                s.tasks.insert(id, bar);
            }
            Event::TaskStep { id, step } => {
                if let Some(b) = s.tasks.get(&id) {
                    b.set_message(step);
                }
            }
            Event::TaskBytes { id, done, total } => {
                if let Some(b) = s.tasks.get(&id) {
                    b.set_message(match total {
                        Some(t) => format!("{} / {}", human_bytes(done), human_bytes(t)),
                        None => human_bytes(done),
                    });
                }
            }
            Event::TaskFinished { id, outcome, elapsed } => {
                if let Some(b) = s.tasks.remove(&id) {
                    b.finish_and_clear();
                }
                if let Some(o) = &s.overall {
                    o.inc(1);
                }
                if outcome != Outcome::Cached {
                    let _ = s.multi.println(finished_line(&id, outcome, elapsed));
                }
            }
            Event::Eta { remaining } => {
                if let Some(o) = &s.overall {
                    o.set_message(format!("ETA {}", human_duration(remaining)));
                }
            }
            Event::Message { level, text } => {
                let _ = s.multi.println(message_line(level, &text));
            }
        }
    }

    fn lines(&self, event: Event) {
        let line = match event {
            Event::StageStarted { stage, total: Some(t) } => format!(">>> {stage} ({t})"),
            Event::StageStarted { stage, total: None } => format!(">>> {stage}"),
            Event::TaskStarted { id, what } if what != "cached" => format!("    {id}: {what}"),
            Event::TaskStep { id, step } => format!("    {id}: {step}"),
            Event::TaskFinished { id, outcome, elapsed } if outcome != Outcome::Cached => {
                finished_line(&id, outcome, elapsed)
            }
            Event::Message { level, text } => message_line(level, &text),
            _ => return,
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }
}

impl Reporter for Progress {
    fn event(&self, event: Event) {
        match self.mode {
            Mode::Bars => self.bars(event),
            Mode::Lines => self.lines(event),
            Mode::Json => {
                if let Ok(text) = serde_json::to_string(&event) {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{text}");
                }
            }
            Mode::Quiet => {}
        }
    }
}

fn finished_line(id: &str, outcome: Outcome, elapsed: Duration) -> String {
    let word = match outcome {
        Outcome::Built => "built",
        Outcome::Cached => "reused",
        Outcome::Substituted => "substituted",
        Outcome::Fetched => "fetched",
        Outcome::Merged => "merged",
        Outcome::Uploaded => "uploaded",
        Outcome::Failed => "FAILED",
        Outcome::Skipped => "skipped",
    };
    format!("    {id}: {word} in {}", human_duration(elapsed))
}

fn message_line(level: Level, text: &str) -> String {
    match level {
        Level::Info => format!(" *  {text}"),
        Level::Warning => format!(" !  {text}"),
    }
}

pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1}s")
    } else if s < 3600.0 {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!("{}h{:02}m", (s / 3600.0) as u64, ((s % 3600.0) / 60.0) as u64)
    }
}

pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{b} B") } else { format!("{v:.1} {}", UNITS[u]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_read_like_a_person_wrote_them() {
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(human_duration(Duration::from_secs(3 * 3600 + 120)), "3h02m");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 * 1024 * 1024 / 2), "1.5 MiB");
    }
}
