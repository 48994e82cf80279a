//! A ledger the whole team shares (issue 17): the same rules on SQLite and on a real
//! PostgreSQL server (see `pg_server`), races between processes decided by the
//! database, versioned migrations, `ledger copy` both ways, credentials and TLS.

use crate::pg_server::{self, PgServer, TEAM_PASSWORD};
use crate::support::{key_in, quick_traffic, run, stagegate, text, Project, Sample};
use std::process::{Command, Stdio};

const SYSTEM: &str = "dichvucong";

/// Which ledger a test project uses.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Store {
    Sqlite,
    Postgres,
}

/// A project on `store`: for PostgreSQL, a new database named in the project's
/// `stagegate.toml`, so every command of the project uses it. `None` when PostgreSQL is
/// not installed (the harness said so).
fn project_on(sample: &Sample, store: Store) -> Option<(Project, String)> {
    let project = Project::new(&sample.url, "http://127.0.0.1:9");
    quick_traffic(&project, "trial-test", 2, "2s");
    let location = match store {
        Store::Sqlite => project.ledger().display().to_string(),
        Store::Postgres => {
            let url = pg_server::server()?.database();
            project.write(
                "stagegate.toml",
                &format!("[ledger]\nlocation = \"{url}\"\n"),
            );
            url
        }
    };
    Some((project, location))
}

fn command(project: &Project, verb: &str, release: &str, stage: &str, who: &str) -> Command {
    let mut cmd = stagegate(project.root());
    cmd.args([verb, SYSTEM, "--release", release, "--stage", stage])
        .args(["--as", who, "--key", &key_in(project.root(), who)]);
    cmd
}

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

/// Stage order, roles, self-approval, one promotion, verify, status: one body, run on
/// each backend.
fn the_rules_hold(store: Store) {
    let sample = Sample::start(&[]);
    let Some((project, location)) = project_on(&sample, store) else {
        return;
    };
    let early = run(&mut command(&project, "run", "1.0.0", "real-test", "qa.an"));
    assert_eq!(code(&early), Some(3), "{}", text(&early));
    assert!(
        text(&early).contains("previous stage `trial-test`"),
        "{}",
        text(&early)
    );

    let ran = run(&mut command(
        &project,
        "run",
        "1.0.0",
        "trial-test",
        "qa.an",
    ));
    assert_eq!(code(&ran), Some(0), "{}", text(&ran));
    let own = run(&mut command(
        &project,
        "approve",
        "1.0.0",
        "trial-test",
        "qa.an",
    ));
    assert_eq!(code(&own), Some(3), "{}", text(&own));
    let ok = run(&mut command(
        &project,
        "approve",
        "1.0.0",
        "trial-test",
        "rm.binh",
    ));
    assert_eq!(code(&ok), Some(0), "{}", text(&ok));
    let again = run(&mut command(
        &project,
        "approve",
        "1.0.0",
        "trial-test",
        "rm.cuong",
    ));
    assert_eq!(code(&again), Some(3), "{}", text(&again));
    assert!(
        text(&again).contains("already promoted"),
        "{}",
        text(&again)
    );

    let verify = run(stagegate(project.root()).args(["ledger", "verify"]));
    assert_eq!(code(&verify), Some(0), "{}", text(&verify));
    assert!(
        text(&verify).contains("ledger ok: 6 events"),
        "{}",
        text(&verify)
    );
    let status = run(stagegate(project.root()).args(["status", "--output", "json"]));
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("promoted"),
        "{}",
        text(&status)
    );
    // `serve` renders the same board from either backend.
    let location = stagegate::ledger::LedgerLocation::parse(&location).expect("location");
    let board = stagegate::metrics::ledger_export::render(&location).expect("board");
    assert!(
        board
            .contains(r#"stagegate_release_promoted_stage{release="1.0.0",system="dichvucong"} 1"#),
        "{board}"
    );
    if store == Store::Postgres {
        assert!(
            !project.ledger().exists(),
            "a PostgreSQL project wrote a SQLite file"
        );
    }
}

#[test]
fn issue_17_the_rules_hold_on_sqlite() {
    the_rules_hold(Store::Sqlite);
}

#[test]
fn issue_17_the_rules_hold_on_postgres() {
    the_rules_hold(Store::Postgres);
}

/// Spawns `n` copies of a command at once and waits for all.
fn race(n: usize, make: impl Fn(usize) -> Command) -> Vec<std::process::Output> {
    let children: Vec<std::process::Child> = (0..n)
        .map(|i| {
            make(i)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect()
}

/// Rounds of the PostgreSQL race: `STAGEGATE_RACE_ROUNDS`, else 3. Every round races four
/// runs and eight approvals, so three rounds already put 36 racing processes on the
/// database; `scripts/race-postgres` runs the long version (20 rounds, about two minutes)
/// to hunt for a rare interleaving.
fn race_rounds() -> usize {
    std::env::var("STAGEGATE_RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(3)
}

#[test]
fn issue_17_races_on_postgres_make_one_run_and_one_promotion_per_round() {
    let sample = Sample::start(&[]);
    let Some((project, url)) = project_on(&sample, Store::Postgres) else {
        return;
    };
    // Long enough that the racing runs are all started while the accepted one runs.
    quick_traffic(&project, "trial-test", 1, "4s");
    let rounds = race_rounds();
    let mut serving = sample.url.clone();
    for round in 0..rounds {
        let release = format!("2.0.{round}");
        // The environment must serve the release a run is for.
        let target = Sample::start(&["--release", &release]);
        project.edit("environments/test.toml", &serving, &target.url);
        serving = target.url.clone();
        let runs = race(4, |_| {
            command(&project, "run", &release, "trial-test", "qa.an")
        });
        let accepted = runs.iter().filter(|o| code(o) == Some(0)).count();
        let refused = runs
            .iter()
            .filter(|o| code(o) == Some(3) && text(o).contains("still in progress"))
            .count();
        assert_eq!(
            (accepted, refused),
            (1, 3),
            "round {round}: {:?}",
            runs.iter().map(text).collect::<Vec<_>>()
        );
        let approvals = race(8, |i| {
            command(
                &project,
                "approve",
                &release,
                "trial-test",
                &format!("rm.{i}"),
            )
        });
        let promoted = approvals.iter().filter(|o| code(o) == Some(0)).count();
        let late = approvals
            .iter()
            .filter(|o| code(o) == Some(3) && text(o).contains("already promoted"))
            .count();
        assert_eq!(
            (promoted, late),
            (1, 7),
            "round {round}: {:?}",
            approvals.iter().map(text).collect::<Vec<_>>()
        );
    }
    let location = stagegate::ledger::LedgerLocation::parse(&url).expect("url");
    let ledger = stagegate::ledger::Ledger::open(&location).expect("open");
    let events = ledger.events(None, None).expect("events");
    let count = |kind: &str| events.iter().filter(|e| e.kind == kind).count();
    // Per round: release, run started, run finished, one approval, one promotion; and
    // the roster pinned once. Nothing lost, nothing twice.
    assert_eq!(count("roster-pinned"), 1);
    for kind in [
        "release-registered",
        "run-started",
        "run-finished",
        "approval",
        "promotion",
    ] {
        assert_eq!(count(kind), rounds, "{kind}");
    }
    assert_eq!(events.len(), 1 + 5 * rounds);
    assert_eq!(
        ledger.promotions(Some(SYSTEM)).expect("promotions").len(),
        rounds
    );
    let report = ledger
        .verify()
        .expect("verify")
        .expect("the chain verifies");
    assert_eq!(report.head.0, (1 + 5 * rounds) as i64);
    // The chain is one line: no two events name the same predecessor.
    let mut links: Vec<&str> = events.iter().map(|e| e.prev_hash.as_str()).collect();
    links.sort_unstable();
    links.dedup();
    assert_eq!(links.len(), events.len());
}

fn ledger_cmd(args: &[&str]) -> std::process::Output {
    run(Command::new(crate::support::stagegate_bin())
        .env_remove("STAGEGATE_LEDGER")
        .args(args))
}

#[test]
fn issue_17_ledger_copy_sqlite_to_postgres_and_back_keeps_the_head() {
    let sample = Sample::start(&[]);
    let Some((project, sqlite)) = project_on(&sample, Store::Sqlite) else {
        return;
    };
    let Some(server) = pg_server::server() else {
        return;
    };
    assert_eq!(
        code(&run(&mut command(
            &project,
            "run",
            "1.0.0",
            "trial-test",
            "qa.an"
        ))),
        Some(0)
    );
    assert_eq!(
        code(&run(&mut command(
            &project,
            "approve",
            "1.0.0",
            "trial-test",
            "rm.binh"
        ))),
        Some(0)
    );
    let head = |location: &str| {
        let out = ledger_cmd(&["--ledger", location, "ledger", "head"]);
        assert_eq!(code(&out), Some(0), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let original = head(&sqlite);
    let pg = server.database();
    let there = ledger_cmd(&["ledger", "copy", &sqlite, &pg]);
    assert_eq!(code(&there), Some(0), "{}", text(&there));
    assert!(text(&there).contains("(SQLite) to"), "{}", text(&there));
    let verify = ledger_cmd(&[
        "--ledger",
        &pg,
        "ledger",
        "verify",
        "--expect-head",
        &original,
    ]);
    assert_eq!(code(&verify), Some(0), "{}", text(&verify));

    let back = project.path("back/ledger.db").display().to_string();
    let home = ledger_cmd(&["ledger", "copy", &pg, &back]);
    assert_eq!(code(&home), Some(0), "{}", text(&home));
    let verify = ledger_cmd(&[
        "--ledger",
        &back,
        "ledger",
        "verify",
        "--expect-head",
        &original,
    ]);
    assert_eq!(code(&verify), Some(0), "{}", text(&verify));
    assert_eq!(head(&pg), original);
    assert_eq!(head(&back), original);
    // Every event identical, field by field, in all three.
    let events = |l: &str| {
        let location = stagegate::ledger::LedgerLocation::parse(l).expect("location");
        stagegate::ledger::Ledger::open(&location)
            .expect("open")
            .events(None, None)
            .expect("events")
    };
    assert_eq!(events(&sqlite), events(&pg));
    assert_eq!(events(&sqlite), events(&back));

    // A copy into a ledger that holds events is refused, and changes nothing.
    let twice = ledger_cmd(&["ledger", "copy", &sqlite, &pg]);
    assert_eq!(code(&twice), Some(1), "{}", text(&twice));
    assert!(text(&twice).contains("not empty"), "{}", text(&twice));
    assert_eq!(head(&pg), original);
    // The PostgreSQL ledger refuses edits to its audit log, like the SQLite one.
    let mut admin = server.admin(&PgServer::name_of(&pg));
    let edit = admin.batch_execute("UPDATE audit SET actor = 'rm.khac' WHERE seq = 2");
    assert!(format!("{:?}", edit.err()).contains("append-only"));
    let fork = admin.batch_execute(
        "INSERT INTO audit SELECT seq + 100, at, kind, system, release, stage, actor, payload, prev_hash, roster, signer, statement, signature, hash FROM audit WHERE seq = 2",
    );
    assert!(format!("{:?}", fork.err()).contains("audit_one_successor"));
}

#[test]
fn issue_17_migrations_are_versioned_and_a_newer_ledger_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("ledger.db");
    let sqlite = file.display().to_string();
    let mut locations = vec![sqlite.clone()];
    if let Some(server) = pg_server::server() {
        locations.push(server.database());
    }
    for location in &locations {
        let l = stagegate::ledger::LedgerLocation::parse(location).expect("location");
        let ledger = stagegate::ledger::Ledger::open(&l).expect("open");
        assert_eq!(
            ledger.schema_version().expect("version"),
            stagegate::ledger::store::migrations::CURRENT
        );
        ledger
            .storage()
            .execute(
                "INSERT INTO stagegate_schema (version, what, applied_at) VALUES (99, 'future', 'later')",
                &[],
            )
            .expect("pretend a newer stagegate");
        drop(ledger);
        let out = ledger_cmd(&["--ledger", location, "ledger", "head"]);
        assert_eq!(code(&out), Some(5), "{}", text(&out));
        assert!(
            text(&out).contains("schema is version 99, newer than this stagegate knows (2)"),
            "{}",
            text(&out)
        );
    }
}

#[test]
fn issue_17_credentials_come_from_the_environment_and_are_never_printed() {
    let Some(server) = pg_server::server() else {
        return;
    };
    let db = PgServer::name_of(&server.database());
    server
        .admin(&db)
        .batch_execute(&format!(
            "GRANT ALL ON SCHEMA public TO teampw; ALTER DATABASE {db} OWNER TO teampw"
        ))
        .expect("grant");
    let url = format!(
        "postgres://teampw@127.0.0.1:{}/{db}?sslmode=disable",
        server.port
    );
    let head = |url: &str, password: Option<&str>| {
        let mut cmd = Command::new(crate::support::stagegate_bin());
        cmd.env_remove("STAGEGATE_LEDGER").env_remove("PGPASSWORD");
        if let Some(p) = password {
            cmd.env("PGPASSWORD", p);
        }
        run(cmd.args(["--ledger", url, "ledger", "head"]))
    };
    let ok = head(&url, Some(TEAM_PASSWORD));
    assert_eq!(code(&ok), Some(0), "{}", text(&ok));
    let wrong = head(&url, Some("sai-mật-khẩu"));
    assert_eq!(code(&wrong), Some(5), "{}", text(&wrong));
    assert!(
        text(&wrong).contains("password authentication failed"),
        "{}",
        text(&wrong)
    );
    assert!(!text(&wrong).contains("sai-mật-khẩu"), "{}", text(&wrong));
    // A password given in the URL on the command line works and is shown as ***.
    let in_url = format!(
        "postgres://teampw:wrong-{}@127.0.0.1:{}/{db}?sslmode=disable",
        "x9", server.port
    );
    let out = head(&in_url, None);
    assert_eq!(code(&out), Some(5), "{}", text(&out));
    assert!(
        !text(&out).contains("wrong-x9") && text(&out).contains("teampw:***@"),
        "{}",
        text(&out)
    );
    // A service file gives the password.
    let services = tempfile::tempdir().expect("tmp");
    let file = services.path().join("pg_service.conf");
    std::fs::write(
        &file,
        format!("[team]\nhost=127.0.0.1\nport={}\nuser=teampw\npassword={TEAM_PASSWORD}\ndbname={db}\nsslmode=disable\n", server.port),
    )
    .expect("service file");
    let out = run(Command::new(crate::support::stagegate_bin())
        .env_remove("PGPASSWORD")
        .env("PGSERVICEFILE", &file)
        .args(["--ledger", "postgres://?service=team", "ledger", "head"]));
    assert_eq!(code(&out), Some(0), "{}", text(&out));
    // A project file holding a password is refused without showing it.
    let project = tempfile::tempdir().expect("tmp");
    std::fs::write(
        project.path().join("stagegate.toml"),
        format!("[ledger]\nlocation = \"postgres://teampw:{TEAM_PASSWORD}@127.0.0.1/{db}\"\n"),
    )
    .expect("project file");
    let out = run(stagegate(project.path()).args(["ledger", "head"]));
    assert_eq!(code(&out), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("stagegate.toml:2:12") && !text(&out).contains(TEAM_PASSWORD),
        "{}",
        text(&out)
    );
}

#[test]
fn issue_17_tls_verifies_the_server_certificate() {
    let Some(server) = pg_server::server() else {
        return;
    };
    let plain = server.database();
    let base = plain.trim_end_matches("?sslmode=disable");
    let ca = server.ca_file.display().to_string();
    let verified = format!("{base}?sslmode=verify-full&sslrootcert={ca}");
    let out = ledger_cmd(&["--ledger", &verified, "ledger", "head"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out));
    // Without the private CA the server's certificate is not trusted: no connection.
    let unknown = format!("{base}?sslmode=require");
    let out = ledger_cmd(&["--ledger", &unknown, "ledger", "head"]);
    assert_eq!(code(&out), Some(5), "{}", text(&out));
    assert!(
        text(&out).to_lowercase().contains("certificate"),
        "{}",
        text(&out)
    );
}
