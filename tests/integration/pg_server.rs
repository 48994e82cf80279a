//! A real PostgreSQL server for the team-ledger tests: the Debian package's initdb and
//! pg_ctl, a cluster in a temporary folder (a copy of one initdb made for all the test
//! processes), on an ephemeral loopback port, with TLS (a private CA made by rcgen). One
//! server per run of the test binary, shared by the tests; each test gets its own
//! database. Run as the `postgres` user when the tests
//! run as root (initdb refuses root). A watchdog stops the server and removes the folder
//! when the test process ends.
//!
//! Roles: `stagegate` (superuser, trusted from loopback: the tests' default) and
//! `teampw`, which must give its password (scram-sha-256), to check `PGPASSWORD`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The password of the `teampw` role.
pub const TEAM_PASSWORD: &str = "mật-khẩu-đội-7f3a";

/// A running server.
pub struct PgServer {
    pub port: u16,
    /// The private CA that signed the server's certificate (PEM file).
    pub ca_file: PathBuf,
}

static SERVER: OnceLock<Option<PgServer>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// The shared server, started on first use; `None` (with a message) where PostgreSQL
/// is not installed. In CI (`CI` set) a missing PostgreSQL is a failure: scripts/test
/// installs it.
pub fn server() -> Option<&'static PgServer> {
    SERVER.get_or_init(start).as_ref()
}

fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A command run as the server's owner.
fn as_owner(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn check(cmd: &mut Command, what: &str) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A port below the ephemeral range, which no outgoing connection of a parallel test can
/// take between the check and PostgreSQL's bind (an ephemeral port could be).
fn free_port() -> u16 {
    crate::support::reserved_port()
}

fn start() -> Option<PgServer> {
    let Some(bin) = bin_dir() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "PostgreSQL is not installed (scripts/test installs the `postgresql` package)"
        );
        eprintln!("SKIPPED: PostgreSQL is not installed here (no /usr/lib/postgresql/*/bin/initdb); the team-ledger tests against PostgreSQL did not run. Install the `postgresql` package (scripts/test does) to run them.");
        return None;
    };
    let dir = tempfile::Builder::new()
        .prefix("stagegate-pg-")
        .tempdir()
        .expect("temp dir")
        .keep();
    let data = dir.join("data");
    let sockets = dir.join("sockets");
    std::fs::create_dir_all(&sockets).expect("socket dir");
    let (ca_pem, cert_pem, key_pem) = certificates();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca_pem).expect("ca");
    std::fs::write(dir.join("server.crt"), cert_pem).expect("cert");
    std::fs::write(dir.join("server.key"), key_pem).expect("key");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("key mode");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("dir mode");
    if is_root() {
        check(
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir),
            "chown",
        );
    }
    let template = cluster_template(&bin);
    check(
        Command::new("cp").arg("-a").arg(&template).arg(&data),
        "copy the cluster template",
    );
    // First match wins: `teampw` must give its password; everyone else is trusted.
    let hba = data.join("pg_hba.conf");
    let rest = std::fs::read_to_string(&hba).expect("pg_hba");
    std::fs::write(
        &hba,
        format!("host all teampw 127.0.0.1/32 scram-sha-256\n{rest}"),
    )
    .expect("write pg_hba");
    let port = free_port();
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
        sockets.display(),
        dir.join("server.crt").display(),
        dir.join("server.key").display()
    );
    check(
        as_owner(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"]),
        "pg_ctl start",
    );
    watchdog(&bin, &data, &dir);
    let server = PgServer { port, ca_file };
    let mut admin = server.admin("postgres");
    admin
        .batch_execute(&format!(
            "CREATE ROLE teampw LOGIN PASSWORD '{TEAM_PASSWORD}'"
        ))
        .expect("role teampw");
    Some(server)
}

/// A cluster made by initdb, shared by the test processes of a run: every PostgreSQL
/// test is a process of its own under nextest, and initdb (bootstrapping template1 and
/// the catalogues) was most of a test's server start, about 0.7 s of CPU each time. The
/// clusters are identical but for their random system identifier, so each test copies
/// this one (39 MB, a few hundredths of a second). Made once under a file lock, in a
/// temporary folder renamed into place, so a test never copies a half-made template.
fn cluster_template(bin: &Path) -> PathBuf {
    use std::os::unix::io::AsRawFd;
    let version = bin
        .parent()
        .and_then(|v| v.file_name())
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap_or_default();
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    let base = std::env::temp_dir();
    let template = base.join(format!("stagegate-pg-template-{version}-{uid}"));
    let lock =
        std::fs::File::create(base.join(format!("stagegate-pg-template-{version}-{uid}.lock")))
            .expect("template lock file");
    // SAFETY: flock on a descriptor this function owns; released when `lock` closes.
    let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(
        locked,
        0,
        "lock the cluster template: {}",
        std::io::Error::last_os_error()
    );
    if !template.join("PG_VERSION").exists() {
        let making = tempfile::Builder::new()
            .prefix("stagegate-pg-template-")
            .tempdir_in(&base)
            .expect("temp dir")
            .keep();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&making, std::fs::Permissions::from_mode(0o755))
            .expect("dir mode");
        if is_root() {
            check(
                Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(&making),
                "chown",
            );
        }
        let data = making.join("data");
        check(
            as_owner(&bin.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args(["-U", "stagegate", "-E", "UTF8", "--no-sync"])
                .args(["--auth-local=trust", "--auth-host=trust"]),
            "initdb",
        );
        let _ = std::fs::remove_dir_all(&template);
        std::fs::rename(&data, &template).expect("template into place");
        let _ = std::fs::remove_dir_all(&making);
    }
    template
}

/// Stops the server and removes its folder once this test process is gone.
fn watchdog(bin: &Path, data: &Path, dir: &Path) {
    let stop = if is_root() {
        "runuser -u postgres -- \"$1\" -D \"$2\" -m immediate stop"
    } else {
        "\"$1\" -D \"$2\" -m immediate stop"
    };
    let script = format!(
        "while kill -0 {} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf \"$3\"",
        std::process::id()
    );
    // Never waited for: it outlives this process on purpose.
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .args(["-c", &script, "watchdog"])
        .arg(bin.join("pg_ctl"))
        .arg(data)
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("watchdog");
}

/// A private CA and a server certificate for 127.0.0.1 and localhost (PEM).
fn certificates() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "stagegate test ledger CA");
    let ca_pem = ca.self_signed(&ca_key).expect("CA").pem();
    let key = KeyPair::generate().expect("key");
    let params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("params");
    let cert = params
        .signed_by(&key, &Issuer::from_params(&ca, &ca_key))
        .expect("signed");
    (ca_pem, cert.pem(), key.serialize_pem())
}

impl PgServer {
    /// A client to database `db` as the superuser.
    pub fn admin(&self, db: &str) -> postgres::Client {
        postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .user("stagegate")
            .dbname(db)
            .connect(postgres::NoTls)
            .expect("connect as admin")
    }

    /// A new empty database for one test; its URL (no TLS, the trusted superuser).
    pub fn database(&self) -> String {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::SeqCst)
        );
        self.admin("postgres")
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        format!(
            "postgres://stagegate@127.0.0.1:{}/{name}?sslmode=disable",
            self.port
        )
    }

    /// The database name in a URL made by [`PgServer::database`].
    pub fn name_of(url: &str) -> String {
        url.rsplit('/')
            .next()
            .and_then(|t| t.split('?').next())
            .unwrap_or_default()
            .to_string()
    }
}
