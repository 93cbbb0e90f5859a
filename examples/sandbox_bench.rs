//! Times `sandbox::run` of `true`: the fixed cost every package build pays for its sandbox.
//!
//! `sandbox_bench [RUNS] [BALLAST_MB] [THREADS] [SCRIPT]` runs SCRIPT (default `true`) in RUNS
//! sandboxes (default 200) one after another and prints the median and the 10th and 90th
//! percentiles in milliseconds. BALLAST_MB
//! (default 64) of touched heap and THREADS (default 4) idle threads make this process look like
//! `ingot build` at the moment it starts a sandbox, since what a fork costs grows with both.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ingot::build::sandbox::{self, SandboxSpec};

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: usize| -> Result<usize, Error> {
        args.get(i).map_or(Ok(default), |s| s.parse().map_err(|e| format!("argument {s:?}: {e}").into()))
    };
    let (runs, ballast_mb, threads) = (arg(0, 200)?, arg(1, 64)?, arg(2, 4)?);
    let script = args.get(3).map_or("true", String::as_str);
    let ballast = vec![1u8; ballast_mb << 20];
    let (stop, idle) = idle_threads(threads);
    let dir = tempfile::Builder::new().prefix("ingot-sandbox-bench-").tempdir()?;
    let sub = |name: &str| -> Result<std::path::PathBuf, Error> {
        let path = dir.path().join(name);
        std::fs::create_dir(&path)?;
        Ok(path)
    };
    let spec = SandboxSpec {
        workdir: sub("work")?,
        destdir: sub("image")?,
        sysroot: sub("sysroot")?,
        hostroot: None,
        filesdir: None,
        tmpdir: sub("tmp")?,
        env: BTreeMap::new(),
        timeout: None,
    };
    let mut log = std::fs::File::create(dir.path().join("log"))?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let status = sandbox::run(&spec, script, &mut log)?;
        times.push(started.elapsed());
        if !status.success() {
            return Err(format!("the sandboxed script exited with {status}").into());
        }
    }
    drop(stop);
    for t in idle {
        let _ = t.join();
    }
    std::hint::black_box(&ballast);
    print_summary(&mut times, ballast_mb, threads);
    Ok(())
}

/// Threads blocked on a channel until the returned sender is dropped.
fn idle_threads(n: usize) -> (std::sync::mpsc::Sender<()>, Vec<std::thread::JoinHandle<()>>) {
    let (stop, rx) = std::sync::mpsc::channel::<()>();
    let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
    let handles = (0..n)
        .map(|_| {
            let rx = rx.clone();
            std::thread::spawn(move || {
                let _ = rx.lock().map(|r| r.recv());
            })
        })
        .collect();
    (stop, handles)
}

fn print_summary(times: &mut [Duration], ballast_mb: usize, threads: usize) {
    times.sort();
    let at = |q: f64| {
        let i = ((times.len().saturating_sub(1)) as f64 * q).round() as usize;
        times.get(i).map_or(0.0, |t| t.as_secs_f64() * 1000.0)
    };
    println!(
        "sandbox::run x{} ({ballast_mb} MB ballast, {threads} threads): median {:.2} ms, p10 {:.2}, p90 {:.2}",
        times.len(),
        at(0.5),
        at(0.1),
        at(0.9)
    );
}
