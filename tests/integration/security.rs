//! Security scenarios (issue 4): every planted flaw of the sample portal is found by
//! its check and the clean portal yields nothing above info; the passive profile sends
//! only GET/HEAD/OPTIONS within its bound (counted at the server); a production plan
//! naming an intrusive check is refused with nothing sent; rules, scope and redaction.

use crate::security_scan::served_by_method;
use crate::support::{run, stage_cmd_in, stagegate, stagegate_bin, text, Project, Sample};
use stagegate::config::security_suite::{RuleAction, SecuritySuite};
use stagegate::config::suite::{Severity, SuiteBody};
use stagegate::measure::{Measurements, Observed};
use stagegate::plan::Target;
use stagegate::sample::{self, Behaviour, Flaw};
use stagegate::security::{self, CheckStatus, Finding};
use stagegate::vocabulary::CheckId;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Each flaw and the checks (or probes) whose finding it must produce. Findings above
/// info from any other check are false positives and fail the test.
const FLAW_TABLE: &[(&str, &[&str])] = &[
    (
        "missing-security-headers",
        &[
            "header.csp",
            "header.clickjacking",
            "header.x-content-type-options",
            "header.referrer-policy",
        ],
    ),
    ("weak-csp", &["header.csp"]),
    ("insecure-cookie", &["header.cookie-flags"]),
    ("server-version", &["disclosure.server-version"]),
    (
        "verbose-errors",
        &[
            "disclosure.verbose-errors",
            "probe.loi-chi-tiet-khi-du-lieu-sai",
        ],
    ),
    (
        "cors-reflect",
        &["cors.origin-reflection", "cors.null-origin"],
    ),
    ("cors-wildcard", &["cors.wildcard"]),
    ("exposed-git", &["exposure.git"]),
    ("exposed-env", &["exposure.env"]),
    ("exposed-backup", &["exposure.backup"]),
    ("exposed-api-docs", &["exposure.api-docs"]),
    ("directory-listing", &["exposure.directory-listing"]),
    ("trace-enabled", &["method.trace"]),
    (
        "missing-auth",
        &["auth.missing", "probe.ho-so-khong-can-dang-nhap"],
    ),
    (
        "unchecked-token-signature",
        &["auth.tampered-token", "auth.alg-none"],
    ),
    ("jwt-alg-none", &["auth.alg-none"]),
    ("expired-token-accepted", &["auth.expired-token"]),
    (
        "idor",
        &[
            "authz.object-level",
            "probe.ho-so-cua-cong-dan-khac",
            "probe.ho-so-moi-doc-cheo",
        ],
    ),
    ("officer-endpoint-open", &["authz.function-level"]),
    ("excessive-data", &["exposure.excessive-data"]),
    ("cacheable-responses", &["cache.sensitive"]),
    ("no-rate-limit", &["ratelimit.missing"]),
    ("django-debug", &["debug.django"]),
    ("werkzeug-debugger", &["debug.werkzeug"]),
    ("exposed-server-status", &["status.apache"]),
    ("exposed-actuator", &["status.actuator"]),
    ("admin-console", &["admin.console"]),
    ("default-page", &["default.install-page"]),
    ("git-listing", &["exposure.git"]),
    (
        "vcs-leftovers",
        &["exposure.svn", "exposure.hg", "exposure.ds-store"],
    ),
    ("editor-leftovers", &["exposure.editor-backup"]),
    ("cors-api", &["cors.origin-reflection", "cors.null-origin"]),
    ("open-redirect", &["redirect.open"]),
];

/// The repository's two security suites: intrusive first (it creates the dossier the
/// passive suite's probe asks for), then passive.
fn repository_suites() -> Vec<SecuritySuite> {
    let project = stagegate::config::load(Path::new(env!("CARGO_MANIFEST_DIR")))
        .expect("repository project is valid");
    let system = project.system("dichvucong").expect("sample system");
    ["bao-mat-xam-nhap", "bao-mat-co-ban"]
        .iter()
        .map(
            |name| match &system.suites.get(*name).expect("suite present").body {
                SuiteBody::Security(s) => s.clone(),
                SuiteBody::Load(_) => panic!("{name} is not a security suite"),
            },
        )
        .collect()
}

async fn scan_sample(flaws: &[Flaw], suites: &[SecuritySuite]) -> (Vec<Finding>, Vec<String>) {
    let behaviour = Behaviour {
        flaws: flaws.iter().copied().collect(),
        ..Behaviour::default()
    };
    let running = sample::start("127.0.0.1:0".parse().expect("addr"), behaviour)
        .await
        .expect("sample starts");
    let target = Target::without_secrets(&running.base_url());
    let mut findings = Vec::new();
    let mut not_run = Vec::new();
    for suite in suites {
        let outcome = security::run_suite(suite, &target).await;
        assert!(outcome.requests <= outcome.request_budget);
        for check in &outcome.checks {
            // Not applicable is an honest answer (TLS on http://), not a failure to run.
            if !matches!(
                check.status,
                CheckStatus::Ran | CheckStatus::NotApplicable(_)
            ) {
                not_run.push(format!("{}: {:?}", check.check, check.status));
            }
        }
        findings.extend(outcome.findings);
    }
    running.stop().await;
    (findings, not_run)
}

#[tokio::test]
async fn each_flaw_yields_its_finding_and_the_clean_sample_none_above_info() {
    let table_names: BTreeSet<&str> = FLAW_TABLE.iter().map(|(name, _)| *name).collect();
    let all_names: BTreeSet<&str> = Flaw::ALL.iter().map(|(_, name)| *name).collect();
    assert_eq!(
        table_names, all_names,
        "every flaw of the sample system has a row"
    );
    let suites = repository_suites();

    let (clean, not_run) = scan_sample(&[], &suites).await;
    assert!(
        not_run.is_empty(),
        "clean sample: checks that did not run: {not_run:?}"
    );
    let above_info: Vec<String> = clean
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .map(|f| format!("{} at {}: {}", f.check, f.url, f.evidence))
        .collect();
    assert!(
        above_info.is_empty(),
        "false positives on the clean sample: {above_info:#?}"
    );

    let mut failures = Vec::new();
    for (name, expected) in FLAW_TABLE {
        let flaw: Flaw = name.parse().expect("flaw name");
        let (findings, not_run) = scan_sample(&[flaw], &suites).await;
        let found: BTreeSet<&str> = findings
            .iter()
            .filter(|f| f.severity > Severity::Info)
            .map(|f| f.check.as_str())
            .collect();
        let expected: BTreeSet<&str> = expected.iter().copied().collect();
        if found != expected || !not_run.is_empty() {
            failures.push(format!(
                "--flaw {name}: expected {expected:?}, found {found:?}, not run {not_run:?}"
            ));
        }
        for f in &findings {
            assert!(
                !f.evidence.is_empty()
                    && f.url.starts_with("http://127.0.0.1:")
                    && !f.remediation.is_empty(),
                "{f:?}"
            );
            // Right severity (the catalogue's), and evidence that names the URL.
            if let Some(info) = stagegate::security::catalogue::lookup(&f.check) {
                if f.severity > Severity::Info {
                    assert_eq!(f.severity, info.severity, "{f:?}");
                }
                assert!(f.evidence.contains(&f.url), "{f:?}");
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn production_plan_naming_an_intrusive_check_is_refused_before_anything_is_sent() {
    let test = Sample::start(&[]);
    let production = Sample::start_with_env(
        &["--api-key-env", "DVC_PROD_API_KEY"],
        &[("DVC_PROD_API_KEY", "khoa-bi-mat-san-xuat")],
    );
    let project = Project::new(&test.url, &production.url);
    project.edit(
        "scenarios/dichvucong/bao-mat-co-ban.toml",
        "checks = [\n",
        "checks = [\n  { id = \"method.trace\" },\n",
    );

    let out = run(
        stage_cmd_in(project.root(), "1.0.0", "trial-production", "qa.nguyen")
            .env("DVC_PROD_API_KEY", "khoa-bi-mat-san-xuat"),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let message = text(&out);
    assert!(
        message.contains("`method.trace`") && message.contains("not production-safe"),
        "{message}"
    );
    assert!(message.contains("nothing was sent"), "{message}");

    let out = run(stagegate(project.root()).args([
        "plan",
        "dichvucong",
        "--release",
        "1.0.0",
        "--stage",
        "trial-production",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("`method.trace`"), "{}", text(&out));

    let served: u64 = served_by_method(&production.url).values().sum();
    assert_eq!(served, 0, "production received requests");
}

#[tokio::test]
async fn rules_decide_what_the_gate_counts_and_scope_keeps_paths_unrequested() {
    let behaviour = Behaviour {
        flaws: [Flaw::ExposedGit, Flaw::ExposedEnv].into_iter().collect(),
        ..Behaviour::default()
    };
    let running = sample::start("127.0.0.1:0".parse().expect("addr"), behaviour)
        .await
        .expect("sample starts");
    let target = Target::without_secrets(&running.base_url());
    let mut suite = SecuritySuite::from_checks([CheckId::ExposureGit, CheckId::ExposureEnv]);

    let outcome = security::run_suite(&suite, &target).await;
    let mut measured = Measurements::default();
    measured.add_security(&outcome);
    assert_eq!(
        measured.observe(stagegate::config::rollout::MetricId::SecurityHigh),
        Observed::Value {
            value: 1.0,
            samples: 2
        }
    );

    suite.rules.insert("exposure.git".into(), RuleAction::Warn);
    suite
        .rules
        .insert("exposure.env".into(), RuleAction::Ignore);
    let outcome = security::run_suite(&suite, &target).await;
    assert_eq!(outcome.findings.len(), 1);
    assert_eq!(outcome.findings[0].rule, RuleAction::Warn);
    let mut measured = Measurements::default();
    measured.add_security(&outcome);
    assert_eq!(
        measured.observe(stagegate::config::rollout::MetricId::SecurityHigh),
        Observed::Value {
            value: 0.0,
            samples: 1
        }
    );
    assert_eq!(
        measured.observe(stagegate::config::rollout::MetricId::SecurityCritical),
        Observed::Value {
            value: 0.0,
            samples: 1
        }
    );

    let env_requests_before = route_count(&running.base_url(), "/.env").await;
    suite.rules.clear();
    suite.out_of_scope = vec!["/.env*".into()];
    let outcome = security::run_suite(&suite, &target).await;
    let env_check = outcome
        .checks
        .iter()
        .find(|c| c.check == "exposure.env")
        .expect("env check listed");
    assert!(
        matches!(&env_check.status, CheckStatus::Skipped(reason) if reason.contains("out of scope")),
        "{env_check:?}"
    );
    assert_eq!(
        route_count(&running.base_url(), "/.env").await,
        env_requests_before,
        "an out-of-scope path was requested"
    );
    assert!(outcome.findings.iter().all(|f| f.check != "exposure.env"));
    running.stop().await;
}

/// Requests the sample served on one route (async: the sample runs on the test's runtime).
async fn route_count(base: &str, route: &str) -> u64 {
    let prefix = format!("sample_http_requests_total{{route=\"{route}\"");
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    metrics
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[tokio::test]
async fn evidence_never_carries_the_environment_secret() {
    let key = "khoa-bi-mat-7f3a9c";
    let behaviour = Behaviour {
        flaws: [Flaw::VerboseErrors].into_iter().collect(),
        api_key: Some(key.into()),
        ..Behaviour::default()
    };
    let running = sample::start("127.0.0.1:0".parse().expect("addr"), behaviour)
        .await
        .expect("sample starts");
    let target = Target::without_secrets(&running.base_url()).with_secret_header("X-Api-Key", key);
    let suite = SecuritySuite::from_checks([CheckId::DisclosureVerboseErrors]);
    let outcome = security::run_suite(&suite, &target).await;
    running.stop().await;
    let finding = outcome
        .findings
        .first()
        .unwrap_or_else(|| panic!("verbose errors found: {outcome:?}"));
    assert!(
        finding.evidence.contains("x-api-key: ***"),
        "{}",
        finding.evidence
    );
    assert!(!serde_json::to_string(&outcome).expect("json").contains(key));
}

/// A private CA and server certificates made with rcgen for TLS on loopback.
pub(crate) mod tls_fixture {
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    };
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    pub struct Ca {
        pub pem: String,
        params: CertificateParams,
        key: KeyPair,
    }

    pub fn ca() -> Ca {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "stagegate test CA");
        let pem = params.self_signed(&key).expect("CA cert").pem();
        Ca { pem, params, key }
    }

    /// A server certificate for `name`; signed by `ca` (or self-signed), expired or not.
    pub fn server_cert(
        name: &str,
        ca: Option<&Ca>,
        expired: bool,
    ) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(vec![name.to_string()]).expect("params");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = match ca {
            Some(ca) => params
                .signed_by(&key, &Issuer::from_params(&ca.params, &ca.key))
                .expect("signed"),
            None => params.self_signed(&key).expect("self-signed"),
        };
        (
            cert.der().clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
    }

    /// Serves `ok` over TLS on an ephemeral loopback port, for at most 20 connections.
    pub async fn serve(
        cert: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
    ) -> (u16, tokio::task::JoinHandle<()>) {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let task = tokio::spawn(async move {
            for _ in 0..20 {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(mut tls) = acceptor.accept(stream).await {
                        let mut buf = [0u8; 4096];
                        let _ = tls.read(&mut buf).await;
                        let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
                        let _ = tls.shutdown().await;
                    }
                });
            }
        });
        (port, task)
    }
}

#[tokio::test]
async fn certificate_check_finds_expired_untrusted_and_wrong_host_on_loopback() {
    let ca = tls_fixture::ca();
    let cases: [(&str, &str, bool, bool, Option<&str>); 4] = [
        ("valid", "127.0.0.1", true, false, None),
        (
            "wrong host",
            "cong.dichvucong.gov.vn",
            true,
            false,
            Some("another host name"),
        ),
        (
            "expired",
            "127.0.0.1",
            true,
            true,
            Some("expired certificate"),
        ),
        (
            "self-signed",
            "127.0.0.1",
            false,
            false,
            Some("not issued by a trusted authority"),
        ),
    ];
    for (case, name, signed_by_ca, expired, expected) in cases {
        let (cert, key) = tls_fixture::server_cert(name, signed_by_ca.then_some(&ca), expired);
        let (port, server) = tls_fixture::serve(cert, key).await;
        let suite = SecuritySuite::from_checks([CheckId::TlsCertificate, CheckId::HeaderHsts]);
        let target = Target::without_secrets(&format!("https://127.0.0.1:{port}"));
        let options = security::ScanOptions {
            production_safe_only: true,
            trusted_roots_pem: vec![ca.pem.clone()],
            user_agent: None,
        };
        let outcome = security::run_suite_with(&suite, &target, options).await;
        server.abort();
        let tls: Vec<&Finding> = outcome
            .findings
            .iter()
            .filter(|f| f.check == "tls.certificate")
            .collect();
        match expected {
            None => {
                assert!(tls.is_empty(), "{case}: {outcome:?}");
                assert!(
                    outcome
                        .checks
                        .iter()
                        .all(|c| matches!(c.status, CheckStatus::Ran)),
                    "{case}: {outcome:?}"
                );
                // Reached over TLS: the HTTPS-only header check judged the answer.
                assert!(
                    outcome.findings.iter().any(|f| f.check == "header.hsts"),
                    "{case}: {outcome:?}"
                );
            }
            Some(phrase) => {
                assert_eq!(tls.len(), 1, "{case}: {outcome:?}");
                assert!(
                    tls[0].evidence.contains(phrase),
                    "{case}: {}",
                    tls[0].evidence
                );
                assert_eq!(tls[0].severity, Severity::High);
            }
        }
    }
}

#[test]
fn checks_command_lists_every_check_with_its_safety_and_reference() {
    let out = run(Command::new(stagegate_bin()).args(["checks", "--output", "json"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let list = list["checks"].as_array().cloned().unwrap_or_default();
    assert!(list.len() >= 25, "{}", list.len());
    for c in &list {
        assert!(
            c["production_safe"].is_boolean()
                && c["reference"].as_str().is_some_and(|r| r.contains("OWASP")),
            "{c}"
        );
    }
    let ids: BTreeSet<&str> = list.iter().filter_map(|c| c["id"].as_str()).collect();
    for suite in repository_suites() {
        for id in &suite.checks {
            assert!(ids.contains(id.as_str()), "{id} not listed");
        }
    }
    let unsafe_ids: Vec<&str> = list
        .iter()
        .filter(|c| c["production_safe"] == false)
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(
        unsafe_ids.contains(&"method.trace") && unsafe_ids.contains(&"authz.object-level"),
        "{unsafe_ids:?}"
    );
}
