//! Takes a `postgres://` URL, the environment and a libpq-style service file, gives the
//! connection settings and the TLS connector for a PostgreSQL ledger. The precedence is
//! libpq's: what the URL says, then the service's entries, then `PG*` variables, then
//! defaults. A password comes from the URL given on the command line, the service file or
//! `PGPASSWORD`, never from a project file (see [`super::LedgerLocation`]).
//!
//! TLS: `sslmode` is `disable`, `allow`/`prefer` (TLS when the server offers it, the
//! default), or `require`/`verify-ca`/`verify-full` (TLS or no connection). With TLS,
//! stagegate always verifies the server's certificate and name (rustls has no
//! unverified mode, and a ledger holding release decisions should not be reached through
//! an unchecked server): against `sslrootcert` (URL, service or `PGSSLROOTCERT`, a PEM
//! file) when given, else against the system's trusted roots.

use postgres::config::SslMode;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Settings read from the URL, the service and the environment.
pub(super) struct PgSettings {
    /// Ready to connect (password included, never printed).
    pub config: postgres::Config,
    /// The TLS connector, when TLS may be used.
    pub tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
}

/// How long connecting may take when nothing says otherwise: a server on another
/// machine answers in well under a second; ten covers a slow network without leaving a
/// command hanging on a dead host.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads the settings for `url`.
pub(super) fn settings(url: &str) -> Result<PgSettings, String> {
    settings_with(url, &|name| std::env::var(name).ok())
}

fn settings_with(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<PgSettings, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a valid URL: {e}"))?;
    // The URL's own parts, as libpq keywords.
    let mut given: BTreeMap<String, String> = BTreeMap::new();
    if let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) {
        given.insert("host".into(), host.trim_matches(['[', ']']).to_string());
    }
    if let Some(port) = parsed.port() {
        given.insert("port".into(), port.to_string());
    }
    if !parsed.username().is_empty() {
        given.insert("user".into(), decode(parsed.username()));
    }
    if let Some(password) = parsed.password() {
        given.insert("password".into(), decode(password));
    }
    let dbname = parsed.path().trim_start_matches('/');
    if !dbname.is_empty() {
        given.insert("dbname".into(), decode(dbname));
    }
    for (k, v) in parsed.query_pairs() {
        given.insert(k.into_owned(), v.into_owned());
    }
    let service = given.get("service").cloned().or_else(|| env("PGSERVICE"));
    let from_service = match service {
        Some(name) => service_entries(&name, env)?,
        None => BTreeMap::new(),
    };
    let env_names = [
        ("host", "PGHOST"),
        ("port", "PGPORT"),
        ("user", "PGUSER"),
        ("password", "PGPASSWORD"),
        ("dbname", "PGDATABASE"),
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("application_name", "PGAPPNAME"),
        ("connect_timeout", "PGCONNECT_TIMEOUT"),
    ];
    let get = |key: &str| -> Option<String> {
        given
            .get(key)
            .or_else(|| from_service.get(key))
            .cloned()
            .or_else(|| {
                env_names
                    .iter()
                    .find(|(k, _)| *k == key)
                    .and_then(|(_, var)| env(var))
            })
            .filter(|v| !v.is_empty())
    };
    let mut config = postgres::Config::new();
    config.host(&get("host").unwrap_or_else(|| "localhost".into()));
    if let Some(port) = get("port") {
        config.port(
            port.parse()
                .map_err(|_| format!("port `{port}` is not a number"))?,
        );
    }
    let user = get("user")
        .or_else(|| env("USER"))
        .ok_or("no user name: give one in the URL, the service or `PGUSER`")?;
    config.user(&user);
    if let Some(password) = get("password") {
        config.password(password);
    }
    config.dbname(&get("dbname").unwrap_or_else(|| user.clone()));
    config.application_name(&get("application_name").unwrap_or_else(|| "stagegate".into()));
    let timeout = match get("connect_timeout") {
        Some(t) => Duration::from_secs(
            t.parse()
                .map_err(|_| format!("connect_timeout `{t}` is not a number of seconds"))?,
        ),
        None => DEFAULT_CONNECT_TIMEOUT,
    };
    config.connect_timeout(timeout);
    let mode = get("sslmode").unwrap_or_else(|| "prefer".into());
    let ssl = match mode.as_str() {
        "disable" => SslMode::Disable,
        "allow" | "prefer" => SslMode::Prefer,
        "require" | "verify-ca" | "verify-full" => SslMode::Require,
        other => return Err(format!("sslmode `{other}` is not one of disable, allow, prefer, require, verify-ca, verify-full")),
    };
    config.ssl_mode(ssl);
    let tls = match ssl {
        SslMode::Disable => None,
        _ => Some(connector(get("sslrootcert").map(PathBuf::from).as_deref())?),
    };
    Ok(PgSettings { config, tls })
}

fn decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map_or_else(|| text.to_string(), |(_, v)| v.into_owned())
}

/// The entries of service `name` in the service file: `PGSERVICEFILE`, else
/// `~/.pg_service.conf`, else `PGSYSCONFDIR/pg_service.conf` (libpq's order).
fn service_entries(
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, String> {
    let candidates: Vec<PathBuf> = [
        env("PGSERVICEFILE").map(PathBuf::from),
        env("HOME").map(|h| Path::new(&h).join(".pg_service.conf")),
        env("PGSYSCONFDIR").map(|d| Path::new(&d).join("pg_service.conf")),
    ]
    .into_iter()
    .flatten()
    .collect();
    for file in &candidates {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        if let Some(entries) = parse_service(&text, name) {
            return Ok(entries);
        }
    }
    Err(format!(
        "service `{name}` is not defined in any service file (looked in: {})",
        candidates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The `key=value` lines of section `[name]` of an INI-style service file.
fn parse_service(text: &str, name: &str) -> Option<BTreeMap<String, String>> {
    let mut found = None;
    let mut current: Option<&str> = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(section.trim());
            if current == Some(name) {
                found.get_or_insert_with(BTreeMap::new);
            }
            continue;
        }
        if current == Some(name) {
            if let (Some(entries), Some((k, v))) = (found.as_mut(), line.split_once('=')) {
                let entries: &mut BTreeMap<String, String> = entries;
                entries.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
    }
    found
}

fn connector(root_file: Option<&Path>) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    let mut roots = rustls::RootCertStore::empty();
    match root_file {
        Some(path) => {
            use rustls::pki_types::pem::PemObject;
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read sslrootcert `{}`: {e}", path.display()))?;
            for cert in certs {
                let cert =
                    cert.map_err(|e| format!("cannot read sslrootcert `{}`: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("sslrootcert `{}`: {e}", path.display()))?;
            }
        }
        None => {
            // Unreadable system certificates leave the store smaller; a server whose
            // certificate is then unknown is refused with rustls's reason.
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_url_wins_over_the_environment_and_pgpassword_fills_in() {
        let env = env_of(&[
            ("PGUSER", "env-user"),
            ("PGPASSWORD", "from-env"),
            ("PGPORT", "6543"),
        ]);
        let s = settings_with("postgres://qa@db.example/ledger?sslmode=disable", &env).unwrap();
        assert_eq!(s.config.get_user(), Some("qa"));
        assert_eq!(s.config.get_password(), Some(&b"from-env"[..]));
        assert_eq!(s.config.get_ports(), &[6543]);
        assert_eq!(s.config.get_dbname(), Some("ledger"));
        assert!(s.tls.is_none());
        assert!(settings_with("postgres://qa@db/l?sslmode=sometimes", &env).is_err());
    }

    #[test]
    fn a_service_file_gives_host_user_and_password() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("services.conf");
        std::fs::write(
            &file,
            "# team ledger\n[other]\nhost=elsewhere\n[team]\nhost = 127.0.0.1\nport=5499\nuser=rm\npassword=p%w\ndbname=ledger\nsslmode=disable\n",
        )
        .unwrap();
        let path: &'static str = Box::leak(file.display().to_string().into_boxed_str());
        let env = move |name: &str| (name == "PGSERVICEFILE").then(|| path.to_string());
        let s = settings_with("postgres://?service=team", &env).unwrap();
        assert_eq!(s.config.get_user(), Some("rm"));
        assert_eq!(s.config.get_password(), Some(&b"p%w"[..]));
        assert_eq!(s.config.get_ports(), &[5499]);
        let e = settings_with("postgres://?service=absent", &env)
            .err()
            .unwrap();
        assert!(e.contains("service `absent`"), "{e}");
    }
}
