//! `stagegate sample-system`: serve the sample portal until interrupted (the portal and
//! its flags live in the `stagegate-sample` crate).

pub use stagegate_sample::cli::SampleArgs;

pub(super) async fn run(args: SampleArgs) -> Result<u8, super::CliError> {
    Ok(stagegate_sample::cli::serve(args).await)
}
