//! A throw-away PostgreSQL cluster for tests: Debian's `postgresql` package
//! (`initdb`, `pg_ctl` from `/usr/lib/postgresql/*/bin`), a temporary data
//! directory, a free port on 127.0.0.1, the unix socket inside the temporary
//! directory, stopped (`-m immediate`) and deleted on drop.
//!
//! PostgreSQL refuses to run as root, so as root every program runs as the
//! `postgres` user (`runuser -u postgres --`) and the directory is handed to it.
//! A missing installation fails the test (never skips it): `scripts/test.sh`
//! installs the package. Shared by the unit tests (`store::postgres`,
//! `fleet`) and the integration tests (`tests/it/util/postgres.rs` includes
//! this file), so there is one copy.

// Each includer uses part of this file (the unit tests or the integration tests).
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running cluster; stopped and removed on drop.
pub struct TestPostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// More server options (TLS).
    extra: String,
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has `initdb`.
fn bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): \
             `apt-get install postgresql` (scripts/test.sh does it)"
        ),
    }
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// `program args...`, as `postgres` when we are root; panics with its output on failure.
fn run_as_postgres(program: &Path, args: &[&str]) -> Output {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    let out = cmd
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed ({}):\n{}{}",
        program.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A port nobody listens on right now (bind port 0, read it, release it).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

impl TestPostgres {
    /// Creates and starts a cluster (trust authentication, user `postgres`,
    /// fsync off: only a kernel crash could lose what it skips). Commits stay
    /// synchronous, so [`stop`](Self::stop) (a crash of the server) keeps them.
    pub fn start() -> TestPostgres {
        Self::init().start_on(free_port())
    }

    /// [`start`](Self::start) with `ssl=on` and this server certificate and
    /// key (PEM); plain connections are still accepted.
    pub fn start_with_tls(cert_pem: &str, key_pem: &str) -> TestPostgres {
        let mut pg = Self::init();
        let cert = pg.dir.path().join("server.crt");
        let key = pg.dir.path().join("server.key");
        std::fs::write(&cert, cert_pem).expect("write server.crt");
        std::fs::write(&key, key_pem).expect("write server.key");
        // PostgreSQL refuses a key others can read.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        if is_root() {
            let status = Command::new("chown")
                .arg("postgres:postgres")
                .args([&cert, &key])
                .status()
                .expect("run chown");
            assert!(status.success(), "chown postgres {}", key.display());
        }
        pg.extra = format!(
            " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            cert.display(),
            key.display()
        );
        pg.start_on(free_port())
    }

    /// A new cluster in a temporary directory, not started.
    fn init() -> TestPostgres {
        let bin = bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("journeyd-pg")
            .tempdir()
            .expect("temporary directory");
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("run chown");
            assert!(status.success(), "chown postgres {}", dir.path().display());
        }
        let data = dir.path().join("data");
        let data_s = data.to_string_lossy().into_owned();
        run_as_postgres(
            &bin.join("initdb"),
            &[
                "-D",
                &data_s,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
        );
        TestPostgres {
            bin,
            dir,
            port: 0,
            extra: String::new(),
        }
    }

    fn start_on(mut self, port: u16) -> TestPostgres {
        self.port = port;
        let data = self.dir.path().join("data").to_string_lossy().into_owned();
        let log = self
            .dir
            .path()
            .join("postgres.log")
            .to_string_lossy()
            .into_owned();
        let socket_dir = self.dir.path().to_string_lossy().into_owned();
        let options = format!(
            "-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c full_page_writes=off -c max_connections=200{}",
            self.extra
        );
        run_as_postgres(
            &self.bin.join("pg_ctl"),
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
        );
        self
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for database `postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once (like a crash: `-m immediate`).
    pub fn stop(&self) {
        let data = self.dir.path().join("data").to_string_lossy().into_owned();
        run_as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", &data, "-m", "immediate", "-w", "stop"],
        );
    }

    /// Starts it again on the same port after [`stop`](Self::stop).
    pub fn restart(self) -> TestPostgres {
        let port = self.port;
        self.start_on(port)
    }

    /// Its server log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        if data.join("postmaster.pid").exists() {
            let data = data.to_string_lossy().into_owned();
            let mut cmd = if is_root() {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"])
                    .arg(self.bin.join("pg_ctl"));
                c
            } else {
                Command::new(self.bin.join("pg_ctl"))
            };
            let _ = cmd
                .args(["-D", &data, "-m", "immediate", "-w", "stop"])
                .output();
        }
    }
}
