//! A private PostgreSQL cluster for the tests that stop and start the
//! database (issue 12): initdb into a temp dir, on a free port, run as the
//! `postgres` system user when the tests run as root (initdb refuses root),
//! so that stopping it disturbs nothing else on the machine. Same shape as
//! the cluster of `crates/engine/tests/writer.rs`.

use std::path::PathBuf;
use std::process::Command;

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().expect("run a PostgreSQL tool");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

impl Cluster {
    /// The newest `/usr/lib/postgresql/<version>/bin` (Debian's layout).
    pub fn bin_dir() -> Option<PathBuf> {
        let mut versions: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .collect();
        versions.sort_unstable();
        let bin = PathBuf::from(format!("/usr/lib/postgresql/{}/bin", versions.last()?));
        bin.join("pg_ctl").exists().then_some(bin)
    }

    fn tool(&self, name: &str) -> Command {
        let mut c = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join(name));
            c
        } else {
            Command::new(self.bin.join(name))
        };
        c.current_dir("/");
        c
    }

    /// A new cluster, started. Panics if PostgreSQL is not installed
    /// (`scripts/test` installs the Debian package `postgresql`).
    pub fn init() -> Self {
        let bin = Self::bin_dir()
            .expect("PostgreSQL binaries under /usr/lib/postgresql (Debian package postgresql)");
        let dir = tempfile::Builder::new()
            .prefix("sbpg")
            .tempdir_in("/tmp")
            .unwrap();
        if is_root() {
            run(Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path()));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = Self { dir, port, bin };
        run(c
            .tool("initdb")
            .args(["-A", "trust", "-U", "postgres", "-D"])
            .arg(c.data()));
        c.start();
        c
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn start(&self) {
        run(self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1",
                self.port,
                self.dir.path().display()
            ))
            .args(["-w", "start"]));
    }

    /// Stop (fast shutdown: open sessions are cut, as a restart does).
    pub fn stop(&self) {
        run(self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "stop"]));
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .output();
    }
}
