//! A real nginx serving a directory as a binary cache on a free 127.0.0.1 port: static GET and
//! HEAD, and WebDAV PUT (Debian's nginx has the dav module built in). Each test starts its own
//! with a config of its own under a temporary directory; it is killed on drop.
//! Use it with `#[path = "common/nginx.rs"] mod nginx;`.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL_HINT: &str = "nginx is needed for the shared-cache tests: \
    `apt-get install nginx libnginx-mod-http-dav-ext` (scripts/host-packages lists them)";

/// A running nginx. `root` is the directory it serves at `url`.
pub struct Nginx {
    child: Child,
    pub root: PathBuf,
    pub url: String,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// Serves a fresh directory, accepting uploads (PUT, DELETE, MKCOL).
    pub fn start() -> Nginx {
        Nginx::start_with(true)
    }

    /// Serves a fresh directory for GET and HEAD only: PUT gets 405.
    pub fn start_read_only() -> Nginx {
        Nginx::start_with(false)
    }

    fn start_with(uploads: bool) -> Nginx {
        let program = locate().unwrap_or_else(|| panic!("{INSTALL_HINT}"));
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        // Another process may take the port between our probe and nginx's bind: try a few.
        for _ in 0..5 {
            let port = free_port();
            let config = write_config(dir.path(), &root, port, uploads);
            let mut child = Command::new(&program)
                .arg("-p")
                .arg(dir.path())
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .arg("-c")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}\n{INSTALL_HINT}", program.display()));
            if wait_until_listening(&mut child, port) {
                return Nginx { child, root, url: format!("http://127.0.0.1:{port}"), dir };
            }
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
            assert!(log.contains("Address already in use"), "nginx did not start:\n{log}");
        }
        panic!("nginx found no free port on 127.0.0.1 in five tries");
    }

    /// The served file at `rel` (for tampering with it behind the server's back).
    pub fn file(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nginx in PATH or in the sbin directory Debian installs it to (not in a user's PATH).
fn locate() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A single-process nginx (no master, so killing the child stops it all) that keeps every file
/// it writes under `prefix`. Workers run as root when the test does, so they can write `root`.
fn write_config(prefix: &Path, root: &Path, port: u16, uploads: bool) -> PathBuf {
    let p = prefix.display();
    let user = if nix::unistd::geteuid().is_root() { "user root;" } else { "" };
    let dav = if uploads {
        "dav_methods PUT DELETE MKCOL;\n            create_full_put_path on;\n            dav_access user:rw group:r all:r;"
    } else {
        ""
    };
    let config = format!(
        r#"daemon off;
master_process off;
{user}
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {p}/tmp/body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{
            {dav}
            client_max_body_size 0;
        }}
    }}
}}
"#,
        root = root.display()
    );
    std::fs::create_dir_all(prefix.join("tmp")).unwrap();
    let path = prefix.join("nginx.conf");
    std::fs::write(&path, config).unwrap();
    path
}

/// Polls the port until nginx accepts connections; `false` if it exited first (its error log
/// says why) or never came up.
fn wait_until_listening(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
