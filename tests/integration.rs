//! All integration tests, in one binary (one link, shared helpers). Each area of the
//! product has its own module under `tests/integration/`.

#[path = "integration/support.rs"]
mod support;

#[path = "integration/pipeline.rs"]
mod pipeline;

#[path = "integration/demo.rs"]
mod demo;

#[path = "integration/ledger.rs"]
mod ledger;

#[path = "integration/validation.rs"]
mod validation;

#[path = "integration/load.rs"]
mod load;

#[path = "integration/metrics.rs"]
mod metrics;

#[path = "integration/dashboards.rs"]
mod dashboards;

#[path = "integration/browser.rs"]
mod browser;

#[path = "integration/reports.rs"]
mod reports;

#[path = "integration/evidence.rs"]
mod evidence;

#[path = "integration/provision.rs"]
mod provision;

#[path = "integration/security.rs"]
mod security;

#[path = "integration/security_discovery.rs"]
mod security_discovery;

#[path = "integration/security_scan.rs"]
mod security_scan;

#[path = "integration/counting_server.rs"]
mod counting_server;

#[path = "integration/fence.rs"]
mod fence;

#[path = "integration/fence_production.rs"]
mod fence_production;

#[path = "integration/fence_bounds.rs"]
mod fence_bounds;

#[path = "integration/onboarding.rs"]
mod onboarding;

#[path = "integration/notify.rs"]
mod notify;

#[path = "integration/verdict.rs"]
mod verdict;

#[path = "integration/identity.rs"]
mod identity;

#[path = "integration/identity_chain.rs"]
mod identity_chain;

#[path = "integration/identity_agent.rs"]
mod identity_agent;

#[path = "integration/hostile.rs"]
mod hostile;

#[path = "integration/fuzz.rs"]
mod fuzz;

#[path = "integration/schemas.rs"]
mod schemas;

#[path = "integration/shards.rs"]
mod shards;

#[path = "integration/pg_server.rs"]
mod pg_server;

#[path = "integration/team_ledger.rs"]
mod team_ledger;

#[path = "integration/shards_abort.rs"]
mod shards_abort;

#[path = "integration/shards_docker.rs"]
mod shards_docker;

#[path = "integration/shards_kubernetes.rs"]
mod shards_kubernetes;

#[path = "integration/shards_pod_monitor.rs"]
mod shards_pod_monitor;

#[path = "integration/terminal.rs"]
mod terminal;

#[path = "integration/engine.rs"]
mod engine;

#[path = "integration/json_output.rs"]
mod json_output;

#[path = "integration/lang.rs"]
mod lang;
