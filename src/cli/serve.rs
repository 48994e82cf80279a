//! `stagegate serve`: a long-running Prometheus exporter of the ledger's state (the
//! rollout board: stage states, last gate results, pending approvals, run age).

use crate::exit_code;
use crate::metrics::ledger_export;
use crate::metrics::server::{MetricsServer, Render};
use clap::Args;
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to serve /metrics on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9464")]
    pub listen: SocketAddr,
}

pub(super) async fn run(
    ledger_path: &crate::ledger::LedgerLocation,
    args: ServeArgs,
) -> Result<u8, super::CliError> {
    // Refuse at once when the ledger cannot be opened, rather than on every scrape. The
    // one reader that may make an empty ledger: a rollout board is often started before
    // the first run, and must show it when it comes.
    super::open_ledger_for_writing(ledger_path)?;
    let path = ledger_path.clone();
    let render: Render = Arc::new(move || ledger_export::render(&path));
    let server = MetricsServer::start(args.listen, render)
        .await
        .map_err(super::CliError::invalid)?;
    // The first line on stdout is the address, so scripts and tests can read it.
    println!("serving ledger metrics on http://{}/metrics", server.addr);
    tokio::select! {
        _ = server.wait() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(exit_code::OK)
}
