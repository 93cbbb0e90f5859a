//! Generates a synthetic recipe tree for benchmarks: `cargo run --release --example gen_tree -- OUT
//! [RECIPES] [SEED]`. Shapes follow Gentoo's tree: ~150 categories, 1–3 versions per package, IUSE
//! with defaults, build/run dependencies with version operators, slots, USE dependencies,
//! `flag? ( )` conditionals and `|| ( )` groups. Build dependencies only point at packages earlier
//! in the order, so the build graph is acyclic, as a real tree's is. Also writes a profile
//! `OUT/profiles/bench` whose world pulls in a few hundred packages.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic, no dependency needed for a generator.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
}

const FLAGS: &[&str] = &[
    "ssl", "ipv6", "nls", "doc", "test", "static", "debug", "zlib", "X", "gtk", "qt5", "python", "lua",
    "pam", "acl", "xattr", "threads", "unicode", "readline", "ncurses", "udev", "systemd", "lzma", "bzip2",
    "zstd",
];

struct Pkg {
    cpn: String,
    versions: Vec<String>,
    iuse: Vec<&'static str>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = PathBuf::from(args.get(1).map(String::as_str).unwrap_or("target/bench-tree"));
    let count: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let seed: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(42);
    let mut rng = Rng(seed | 1);
    let cats: Vec<String> =
        (0..150).map(|i| format!("{}-{}", ["app", "dev", "sys", "net", "media", "x11"][i % 6], i)).collect();
    let mut pkgs: Vec<Pkg> = Vec::new();
    let mut recipes = 0;
    while recipes < count {
        let i = pkgs.len();
        let nver = 1 + rng.below(3).min(count - recipes - 1);
        let versions = (0..nver).map(|v| version(&mut rng, v)).collect::<Vec<_>>();
        let iuse = (0..rng.below(7))
            .map(|_| FLAGS[rng.below(FLAGS.len())])
            .collect::<std::collections::BTreeSet<_>>();
        pkgs.push(Pkg {
            cpn: format!("{}/pkg{i}", cats[rng.below(cats.len())]),
            versions,
            iuse: iuse.into_iter().collect(),
        });
        recipes += nver;
    }
    let recipes_dir = out.join("recipes");
    let _ = std::fs::remove_dir_all(&out);
    for i in 0..pkgs.len() {
        let deps_build = deps(&mut rng, &pkgs, i, true);
        let deps_run = deps(&mut rng, &pkgs, i, false);
        let p = &pkgs[i];
        for v in &p.versions {
            let mut t = String::new();
            let _ = writeln!(t, "description = \"Synthetic package {i}\"\nlicense = \"MIT\"");
            if !p.iuse.is_empty() {
                let iuse: Vec<String> = p
                    .iuse
                    .iter()
                    .enumerate()
                    .map(|(k, f)| if k % 3 == 0 { format!("+{f}") } else { f.to_string() })
                    .collect();
                let _ = writeln!(t, "iuse = \"{}\"", iuse.join(" "));
            }
            // Only flags that are off by default and not set by the bench profile, so the
            // constraint holds as generated.
            let free: Vec<&str> = p
                .iuse
                .iter()
                .enumerate()
                .filter(|(k, f)| k % 3 != 0 && !["ssl", "ipv6"].contains(*f))
                .map(|(_, f)| *f)
                .collect();
            if free.len() >= 2 && rng.chance(10) {
                let _ = writeln!(t, "required_use = \"?? ( {} {} )\"", free[0], free[1]);
            }
            let _ = writeln!(t, "\n[depend]\nbuild = \"{deps_build}\"\nrun = \"{deps_run}\"");
            let _ = writeln!(
                t,
                "\n[[source]]\nurls = [\"https://example.invalid/{}-{v}.tar.gz\"]\nsha256 = \"{}\"",
                name(&p.cpn),
                "0".repeat(64)
            );
            let _ = writeln!(t, "\n[build]\nsystem = \"autotools\"");
            write(&recipes_dir.join(&p.cpn).join(format!("{}-{v}.toml", name(&p.cpn))), &t);
        }
    }
    let mut world = Vec::new();
    for _ in 0..40 {
        let j = pkgs.len() / 2 + rng.below(pkgs.len() / 2);
        world.push(format!("\"{}\"", pkgs[j].cpn));
    }
    world.sort();
    world.dedup();
    let profile =
        format!("world = [{}]\n\n[make]\nuse = \"ssl ipv6\"\ncflags = \"-O2 -pipe\"\n", world.join(", "));
    write(&out.join("profiles/bench/profile.toml"), &profile);
    println!("{} packages, {recipes} recipes in {}", pkgs.len(), out.display());
}

fn name(cpn: &str) -> &str {
    cpn.split('/').nth(1).unwrap_or(cpn)
}

fn version(rng: &mut Rng, v: usize) -> String {
    let base = format!("{}.{}.{}", 1 + v, rng.below(20), rng.below(10));
    match rng.below(10) {
        0 => format!("{base}_rc{}", 1 + rng.below(3)),
        1 => format!("{base}-r{}", 1 + rng.below(3)),
        2 => format!("{base}_p{}", rng.below(9)),
        _ => base,
    }
}

/// Dependencies of package `i`: build ones on earlier packages only; run ones anywhere nearby.
fn deps(rng: &mut Rng, pkgs: &[Pkg], i: usize, build: bool) -> String {
    if i == 0 {
        return String::new();
    }
    let n = if build { rng.below(5) } else { rng.below(4) };
    let mut parts = Vec::new();
    for _ in 0..n {
        // Mostly nearby packages, some far: realistic fan-in to a few core libraries.
        let j = if rng.chance(30) { rng.below(i.min(200)) } else { i - 1 - rng.below(i.min(300)) };
        let j = if build || j < i { j } else { i - 1 };
        let t = &pkgs[j];
        let mut atom = match rng.below(6) {
            0 => format!(">={}-{}", t.cpn, t.versions.last().map(String::as_str).unwrap_or("0")),
            1 => format!("{}:=", t.cpn),
            _ => t.cpn.clone(),
        };
        if let Some(f) = t.iuse.first().filter(|_| rng.chance(15)) {
            atom.push_str(&format!("[{f}(+)]"));
        }
        let own = &pkgs[i].iuse;
        let part = match (own.first(), rng.below(8)) {
            (Some(f), 0) => format!("{f}? ( {atom} )"),
            (Some(f), 1) => format!("!{f}? ( {atom} )"),
            (_, 2) if j > 0 => format!("|| ( {atom} {} )", pkgs[j - 1].cpn),
            _ => atom,
        };
        parts.push(part);
    }
    parts.join(" ")
}

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create directory");
    }
    std::fs::write(path, text).expect("write file");
}
