//! Helpers shared by the integration tests: the `stagegate` binary, a sample system
//! on an ephemeral loopback port, and throw-away projects.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The built `stagegate` binary.
pub fn stagegate_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_stagegate"))
}

/// A `stagegate` command with the given project root and ledger.
pub fn stagegate(root: &Path) -> Command {
    let mut cmd = Command::new(stagegate_bin());
    cmd.arg("--root")
        .arg(root)
        .env_remove("STAGEGATE_LEDGER")
        .env_remove("STAGEGATE_USER")
        .env_remove("STAGEGATE_KEY")
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("STAGEGATE_LANG")
        .env_remove("STAGEGATE_TZ");
    cmd
}

/// The people every test project has: (id, display name, role). Each gets an ed25519
/// key pair under `keys/` and an entry in `people.toml`.
pub const PEOPLE: &[(&str, &str, &str)] = &[
    ("qa.an", "Nguyễn Văn An", "qa"),
    ("qa.nguyen", "Nguyễn Thị Hoa", "qa"),
    ("qa.test", "Phạm Văn Kiểm", "qa"),
    ("qa.container", "Đỗ Văn Tàu", "qa"),
    ("rm.binh", "Trần Văn Bình", "release-manager"),
    ("rm.cuong", "Lê Văn Cường", "release-manager"),
    ("rm.mallory", "Mai Văn Lợi", "release-manager"),
    ("rm.tran-thi-binh", "Trần Thị Bình", "release-manager"),
    ("ops.dung", "Hoàng Văn Dũng", "ops"),
    ("rm.0", "Quản lý 0", "release-manager"),
    ("rm.1", "Quản lý 1", "release-manager"),
    ("rm.2", "Quản lý 2", "release-manager"),
    ("rm.3", "Quản lý 3", "release-manager"),
    ("rm.4", "Quản lý 4", "release-manager"),
    ("rm.5", "Quản lý 5", "release-manager"),
    ("rm.6", "Quản lý 6", "release-manager"),
    ("rm.7", "Quản lý 7", "release-manager"),
];

/// Writes `keys/<id>` (OpenSSH private key, no passphrase), `keys/<id>.pub` and
/// `people.toml` for [`PEOPLE`] into `root`.
pub fn write_people(root: &Path) {
    let keys = root.join("keys");
    std::fs::create_dir_all(&keys).expect("keys dir");
    let mut people = String::from("version = 1\n");
    for (id, name, role) in PEOPLE {
        let mut key =
            ssh_key::PrivateKey::random(&mut rand::rngs::OsRng, ssh_key::Algorithm::Ed25519)
                .expect("key");
        key.set_comment(*id);
        key.write_openssh_file(&keys.join(id), ssh_key::LineEnding::LF)
            .expect("write key");
        let public = key.public_key().to_openssh().expect("public key");
        std::fs::write(keys.join(format!("{id}.pub")), format!("{public}\n")).expect("write");
        people.push_str(&format!(
            "\n[[person]]\nid = \"{id}\"\nname = \"{name}\"\nroles = [\"{role}\"]\nkeys = [\"{public}\"]\n"
        ));
    }
    std::fs::write(root.join("people.toml"), people).expect("write people.toml");
}

/// The private key file of a test person in a project folder, as an argument.
pub fn key_in(root: &Path, id: &str) -> String {
    root.join("keys").join(id).display().to_string()
}

/// The private key file of a test person, as an argument.
pub fn key(project: &Project, id: &str) -> String {
    key_in(project.root(), id)
}

/// Runs a command and returns its output.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("stagegate runs")
}

/// Text of stdout + stderr, for assertions and failure messages.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A sample system started as a `stagegate sample-system` subprocess, killed on drop.
pub struct Sample {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Sample {
    /// Starts it with extra arguments (`--latency-ms`, `--flaw`, ...).
    pub fn start(args: &[&str]) -> Sample {
        Sample::start_with_env(args, &[])
    }

    /// Starts it with extra arguments and environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Sample {
        let mut cmd = Command::new(stagegate_bin());
        cmd.args(["sample-system", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("sample system starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("sample system prints its address");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .expect("address line")
            .to_string();
        Sample { child, url }
    }
}

impl Drop for Sample {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A throw-away project: the repository's sample files with environments pointing at
/// the given URLs.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// Copies `scenarios/` and writes `environments/` for a test and a production URL.
    pub fn new(test_url: &str, production_url: &str) -> Project {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        copy_dir(&repo.join("scenarios"), &dir.path().join("scenarios"));
        std::fs::create_dir_all(dir.path().join("environments")).expect("environments dir");
        let test = std::fs::read_to_string(repo.join("environments/test.toml"))
            .expect("test env")
            .replace("http://127.0.0.1:18080", test_url);
        // Two environments at one origin with different tiers are refused (issue 12):
        // a test that points both at one server names production by another host.
        let production_url = if production_url == test_url {
            production_url.replace("127.0.0.1", "localhost")
        } else {
            production_url.to_string()
        };
        let prod = std::fs::read_to_string(repo.join("environments/production.toml"))
            .expect("production env")
            .replace("http://127.0.0.1:18443", &production_url);
        std::fs::write(dir.path().join("environments/test.toml"), test).expect("write");
        std::fs::write(dir.path().join("environments/production.toml"), prod).expect("write");
        write_people(dir.path());
        Project { dir }
    }

    /// The project root.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Path of a file in the project.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Replaces text in a project file (panics when `from` is absent, so a fixture edit
    /// can never silently miss).
    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let path = self.path(rel);
        let text = std::fs::read_to_string(&path).expect("read fixture");
        assert!(text.contains(from), "`{from}` not found in {rel}");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write fixture");
    }

    /// Writes a file in the project.
    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
    }

    /// The ledger path used by default.
    pub fn ledger(&self) -> PathBuf {
        self.path(".stagegate/ledger.db")
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Shortens a stage's load so tests stay quick: `users` and `duration` of the stage's
/// traffic line in rollout.toml.
pub fn quick_traffic(project: &Project, stage: &str, users: u32, duration: &str) {
    let path = project.path("scenarios/dichvucong/rollout.toml");
    let text = std::fs::read_to_string(&path).expect("rollout");
    let header = format!("[stages.{stage}]");
    let start = text.find(&header).expect("stage present");
    let line_start = start + text[start..].find("traffic = {").expect("traffic line");
    let line_end = line_start + text[line_start..].find('\n').expect("newline");
    let old = &text[line_start..line_end];
    let max_rps = old
        .find("max-rps")
        .map(|i| {
            format!(
                ", {}",
                old[i..].trim_end_matches(" }").trim_end_matches('}').trim()
            )
        })
        .unwrap_or_default();
    let new = format!(
        "traffic = {{ users = {users}, ramp-up = \"0s\", duration = \"{duration}\"{max_rps} }}"
    );
    std::fs::write(
        &path,
        format!("{}{}{}", &text[..line_start], new, &text[line_end..]),
    )
    .expect("write rollout");
}

/// Held by each test whose assertions rest on wall-clock figures (a p50, a held rate, an
/// abort delay, a coordinated-omission tail), so that under `cargo test` (one process, one
/// thread per test) no two of them run at once, as `.config/nextest.toml`'s `timing`
/// group does under nextest (one process per test, where this lock is uncontended).
pub fn timing_guard() -> std::sync::MutexGuard<'static, ()> {
    static TIMING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // A timing test that failed poisons the lock; the next one may still run.
    TIMING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The sample system every test project has.
pub const SYSTEM: &str = "dichvucong";

/// `stagegate run SYSTEM --release R --stage S --as ACTOR --key keys/ACTOR`.
pub fn run_stage(
    project: &Project,
    release: &str,
    stage: &str,
    actor: &str,
) -> std::process::Output {
    run(&mut run_stage_cmd(project, release, stage, actor))
}

/// The `stagegate run` command of [`run_stage`], to add to before it runs.
pub fn run_stage_cmd(
    project: &Project,
    release: &str,
    stage: &str,
    actor: &str,
) -> std::process::Command {
    stage_cmd_in(project.root(), release, stage, actor)
}

/// `stagegate run SYSTEM --release R --stage S --as ACTOR --key keys/ACTOR` in the
/// project at `root`: the one place the tests spell out a stage run.
pub fn stage_cmd_in(root: &Path, release: &str, stage: &str, actor: &str) -> Command {
    let mut cmd = stagegate(root);
    cmd.args([
        "run",
        SYSTEM,
        "--release",
        release,
        "--stage",
        stage,
        "--as",
        actor,
        "--key",
        &key_in(root, actor),
    ]);
    cmd
}

pub fn decide(
    project: &Project,
    verb: &str,
    release: &str,
    stage: &str,
    actor: &str,
) -> std::process::Output {
    run(stagegate(project.root()).args([
        verb,
        SYSTEM,
        "--release",
        release,
        "--stage",
        stage,
        "--as",
        actor,
        "--key",
        &crate::support::key_in(project.root(), actor),
        "--note",
        "xem xét xong",
    ]))
}

/// A loopback port for a server a test must name before it starts (a scrape target in
/// Prometheus's configuration, `--metrics-listen`), or for a port that must stay closed.
///
/// A port bound at 0 and released could be handed by the kernel to any other test
/// before the server binds it. So the port is taken *below* the kernel's ephemeral
/// range (`/proc/sys/net/ipv4/ip_local_port_range`), from which every port-0 bind and
/// every outgoing connection of the other tests draws: nothing else in a test run can
/// take it. Tests spread over the range by process id and a counter, and a port found
/// bound (another test's server) is skipped.
pub fn reserved_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32768);
    let (low, high) = (20_000u32, ephemeral_low.max(20_001));
    let span = high - low;
    let start = std::process::id().wrapping_mul(7919);
    for _ in 0..span {
        let port = low + start.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed) * 13) % span;
        let Ok(port) = u16::try_from(port) else {
            continue;
        };
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port below the ephemeral range");
}

/// `cmd` with its open-file limit (soft and hard) set to `limit`; the workers it starts
/// inherit it.
pub fn with_descriptor_limit(mut cmd: Command, limit: u64) -> Command {
    // SAFETY: setrlimit in the child before exec, on a local struct.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}
