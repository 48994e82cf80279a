//! A plain goose program with the same scenario `stagegate load` runs (one GET, a shared
//! client without cookies), for `benches/load-compare.sh`: the throughput stagegate must
//! match. Usage: `plain_goose URL USERS SECONDS`; prints `requests_per_second N`.

use goose::config::GooseConfiguration;
use goose::prelude::*;
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let url = url::Url::parse(
        args.get(1)
            .map(String::as_str)
            .unwrap_or("http://127.0.0.1:8080/"),
    )?;
    let users: usize = args.get(2).and_then(|u| u.parse().ok()).unwrap_or(50);
    let seconds: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10);
    let host = format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or("127.0.0.1"),
        url.port_or_known_default().unwrap_or(80)
    );
    let path = url.path().to_string();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let get: TransactionFunction = Arc::new(move |user: &mut GooseUser| {
            let path = path.clone();
            Box::pin(async move {
                let _ = user.get(&path).await?;
                Ok(())
            })
        });
        let started = std::time::Instant::now();
        let metrics = GooseAttack::initialize_with_config(GooseConfiguration::default())?
            .register_scenario(
                scenario!("plain").register_transaction(Transaction::new(get).set_name("get")),
            )
            .set_client_builder_without_cookies(
                goose::client::GooseClientBuilder::new().without_cookies(),
            )?
            .set_default(GooseDefault::Host, host.as_str())?
            .set_default(
                GooseDefault::TestPlan,
                format!("{users},0s;{users},{seconds}s;0,0s").as_str(),
            )?
            .set_default(GooseDefault::NoTelnet, true)?
            .set_default(GooseDefault::NoWebSocket, true)?
            .set_default(GooseDefault::NoPrintMetrics, true)?
            .set_default(GooseDefault::Quiet, 1)?
            .execute()
            .await?;
        let elapsed = started.elapsed().as_secs_f64();
        let requests: usize = metrics
            .requests
            .values()
            .map(|r| r.success_count + r.fail_count)
            .sum();
        eprintln!("plain goose: {requests} requests in {elapsed:.2}s");
        println!("requests_per_second {:.1}", requests as f64 / elapsed);
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
