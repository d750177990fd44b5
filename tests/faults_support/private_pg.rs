//! A PostgreSQL cluster of the test's own (initdb into a temporary folder, a free port, its socket
//! in that folder), so the test can crash and restart it without touching the machine's shared
//! server on 5432. initdb refuses to run as root: as root the cluster runs as the `postgres` user.

use std::path::PathBuf;
use std::process::Command;

/// A running private cluster; stopped and removed when dropped.
pub struct PrivatePg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The newest installed `/usr/lib/postgresql/N/bin` holding `initdb`.
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

impl PrivatePg {
    /// Creates and starts a cluster; `None` (with the reason printed) when PostgreSQL's server
    /// binaries are not installed and this is not CI (in CI that is a failure).
    pub fn start() -> Option<PrivatePg> {
        let Some(bin) = bin_dir() else {
            let why = "private PostgreSQL test skipped: no /usr/lib/postgresql/*/bin/initdb";
            assert!(std::env::var_os("CI").is_none(), "{why} (CI must run it)");
            eprintln!("{why}");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("warroom-pg-")
            .tempdir()
            .unwrap();
        let pg = PrivatePg {
            dir,
            bin,
            port: super::process::free_port(),
        };
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(pg.dir.path())
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown the cluster folder to postgres");
        }
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        pg.pg_ctl(&["start", "-w"]);
        Some(pg)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, program: &str, args: &[&str]) {
        let exe = self.bin.join(program);
        let out = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(args)
                .output()
        } else {
            Command::new(&exe).args(args).output()
        }
        .unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pg_ctl(&self, action: &[&str]) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log").display().to_string();
        let data = self.data();
        let mut args = vec!["-D", &data, "-l", &log, "-o", &options];
        args.extend_from_slice(action);
        self.run("pg_ctl", &args);
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server as a crash would (`-m immediate`: no checkpoint, recovery from WAL at start).
    pub fn crash(&self) {
        self.pg_ctl(&["stop", "-m", "immediate", "-w"]);
    }

    /// Starts the stopped server again (it recovers from its WAL).
    pub fn start_again(&self) {
        self.pg_ctl(&["start", "-w"]);
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let data = self.data();
        let _ = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"))
                .args(["-D", &data, "stop", "-m", "immediate"])
                .output()
        } else {
            Command::new(self.bin.join("pg_ctl"))
                .args(["-D", &data, "stop", "-m", "immediate"])
                .output()
        };
    }
}
