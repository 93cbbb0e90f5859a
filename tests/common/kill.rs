//! Killing `ingot` at chosen moments: it runs in a process group of its own with a marker in its
//! environment, its `--json` events are read as they come, the whole group is killed with SIGKILL,
//! and any process left behind is found by the marker (host tools inherit it from ingot; sandboxed
//! phases get it from the profile's `[make.env]`). Also a small seeded random number generator, so
//! a failing run can be replayed from the seed it printed.
//! Use it with `#[path = "common/kill.rs"] mod kill;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The environment variable carrying the marker.
pub const MARKER_VAR: &str = "INGOT_TEST_MARKER";

/// An event line of `--json` output and when it was read, from the start of the run.
pub type Timed = (Duration, serde_json::Value);

/// A running `ingot`, its events collected by a reader thread.
pub struct Run {
    child: Child,
    started: Instant,
    events: Arc<Mutex<Vec<Timed>>>,
    stdout: Option<JoinHandle<()>>,
    stderr: Option<JoinHandle<String>>,
    status: Option<ExitStatus>,
}

impl Run {
    /// Starts `cmd` as the leader of a new process group, with `marker` in its environment.
    pub fn spawn(mut cmd: Command, marker: &str) -> Run {
        cmd.env(MARKER_VAR, marker).process_group(0).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        let started = Instant::now();
        let events = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let sink = events.clone();
        let stdout = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    sink.lock().unwrap().push((started.elapsed(), v));
                }
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        Run { child, started, events, stdout: Some(stdout), stderr: Some(stderr), status: None }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The exit status if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().unwrap();
        }
        self.status
    }

    /// Waits until an event satisfies `pred` and returns it, or `None` if the process ended first.
    pub fn wait_for_event(&mut self, pred: impl Fn(&serde_json::Value) -> bool) -> Option<serde_json::Value> {
        loop {
            let found = self.events.lock().unwrap().iter().find(|(_, e)| pred(e)).map(|(_, e)| e.clone());
            if found.is_some() {
                return found;
            }
            if self.exited().is_some() {
                self.join_stdout();
                return self.events.lock().unwrap().iter().find(|(_, e)| pred(e)).map(|(_, e)| e.clone());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Sleeps until `at` after the start; false if the process ended first.
    pub fn sleep_until(&mut self, at: Duration) -> bool {
        while self.elapsed() < at {
            if self.exited().is_some() {
                return false;
            }
            std::thread::sleep((at - self.elapsed()).min(Duration::from_millis(5)));
        }
        self.exited().is_none()
    }

    /// SIGKILLs the whole process group and reaps the leader.
    pub fn kill_group(&mut self) {
        let pgid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        // The group outlives its leader while any member lives, so this also reaches host tools
        // that are still running after ingot itself died.
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        self.status = Some(self.child.wait().unwrap());
    }

    /// Waits for the end; the status, every event and stderr.
    pub fn finish(mut self) -> (ExitStatus, Vec<Timed>, String) {
        let status = match self.status {
            Some(s) => s,
            None => self.child.wait().unwrap(),
        };
        self.join_stdout();
        let stderr = self.stderr.take().map(|h| h.join().unwrap()).unwrap_or_default();
        let events = std::mem::take(&mut *self.events.lock().unwrap());
        (status, events, stderr)
    }

    fn join_stdout(&mut self) {
        if let Some(h) = self.stdout.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.status.is_none() {
            self.kill_group();
        }
    }
}

/// Processes (pid, command line) whose environment holds `MARKER_VAR=marker`.
pub fn marked_processes(marker: &str) -> Vec<(i32, String)> {
    let needle = format!("{MARKER_VAR}={marker}");
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return out };
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
        let Ok(env) = std::fs::read(entry.path().join("environ")) else { continue };
        if env.split(|&b| b == 0).any(|v| v == needle.as_bytes()) {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            out.push((pid, cmdline.trim().to_string()));
        }
    }
    out
}

/// Waits (up to `limit`) for every marked process to be gone, since a parent-death signal is
/// delivered asynchronously; returns those still there after the limit (a leak).
pub fn survivors(marker: &str, limit: Duration) -> Vec<(i32, String)> {
    let started = Instant::now();
    loop {
        let left = marked_processes(marker);
        if left.is_empty() || started.elapsed() > limit {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// splitmix64: tiny, seedable, good enough to spread kill times.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `var` if set (to replay a run), else from the clock; prints the seed.
    pub fn from_env(var: &str) -> Rng {
        let seed = std::env::var(var).ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        });
        eprintln!("random seed {seed} (replay with {var}={seed})");
        Rng(seed)
    }

    pub fn seeded(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, d).
    pub fn below(&mut self, d: Duration) -> Duration {
        d.mul_f64(self.unit())
    }
}
