//! `stagegate-sample`: the sample system alone, for its container image. Takes the same
//! flags as `stagegate sample-system` (a leading `sample-system` word is accepted, so an
//! image's command written for the whole tool still works).

use clap::Parser;
use stagegate_sample::cli::SampleArgs;

/// The sample public-service portal.
#[derive(Debug, Parser)]
#[command(name = "stagegate-sample", version)]
struct Cli {
    #[command(flatten)]
    args: SampleArgs,
}

fn main() -> std::process::ExitCode {
    let argv = std::env::args_os()
        .enumerate()
        .filter(|(i, a)| !(*i == 1 && a == "sample-system"))
        .map(|(_, a)| a);
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return std::process::ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(5);
        }
    };
    std::process::ExitCode::from(runtime.block_on(stagegate_sample::cli::serve(cli.args)))
}
