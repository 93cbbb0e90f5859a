//! Generates a DAG of `sleep` recipes and a Makefile of the same DAG, for `scripts/bench build`:
//! `cargo run --release --example gen_dag -- OUT N SEED MIN_MS MAX_MS [FANIN]`. Package i sleeps
//! between MIN_MS and MAX_MS and build-depends on up to FANIN (default 3) earlier packages.
//! MIN_MS = MAX_MS = 0 gives trivial recipes with no sleep and no dependencies (overhead runs).

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: u64| a.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let out = Path::new(a.get(1).map(String::as_str).unwrap_or("target/bench/dag"));
    let (n, seed, min_ms, max_ms, fanin) =
        (arg(2, 200) as usize, arg(3, 7), arg(4, 100), arg(5, 600), arg(6, 3));
    let mut rng = seed | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let _ = std::fs::remove_dir_all(out);
    let mut make = String::from(".PHONY: all\n");
    let mut names = Vec::new();
    let mut total_ms = 0;
    for i in 0..n {
        let name = format!("pkg{i:04}");
        let ms = if max_ms == 0 { 0 } else { min_ms + next() % (max_ms - min_ms + 1) };
        total_ms += ms;
        let mut deps: Vec<usize> = if i == 0 || max_ms == 0 {
            Vec::new()
        } else {
            (0..next() % (fanin + 1)).map(|_| (next() % i as u64) as usize).collect()
        };
        deps.sort();
        deps.dedup();
        let build: Vec<String> = deps.iter().map(|d| format!("bench/pkg{d:04}")).collect();
        let sleep =
            if ms == 0 { String::from("true") } else { format!("sleep {}.{:03}", ms / 1000, ms % 1000) };
        let mut t = String::new();
        let _ = writeln!(
            t,
            "description = \"Benchmark package {i}\"\n\n[depend]\nbuild = \"{}\"\n",
            build.join(" ")
        );
        let _ = writeln!(t, "[build]\nsystem = \"none\"\ncompile = \"{sleep}\"");
        let _ = writeln!(
            t,
            "install = 'mkdir -p \"$DESTDIR/usr/share/{name}\" && echo {i} > \"$DESTDIR/usr/share/{name}/stamp\"'"
        );
        write(&out.join(format!("recipes/bench/{name}/{name}-1.0.toml")), &t);
        let make_deps: Vec<String> = deps.iter().map(|d| format!("pkg{d:04}")).collect();
        let _ = writeln!(
            make,
            "{name}: {}\n\t{sleep}\n\tmkdir -p image/{name} && echo {i} > image/{name}/stamp\n\ttouch $@",
            make_deps.join(" ")
        );
        names.push(name);
    }
    let _ = writeln!(make, "all: {}", names.join(" "));
    write(&out.join("make/Makefile"), &make);
    let world: Vec<String> = names.iter().map(|n| format!("\"bench/{n}\"")).collect();
    write(&out.join("profiles/bench/profile.toml"), &format!("world = [{}]\n", world.join(", ")));
    println!("{n} packages, {:.1} s of sleep in total, in {}", total_ms as f64 / 1000.0, out.display());
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("create directory");
    std::fs::write(path, text).expect("write file");
}
