//! The `stagegate` binary: all of the command line lives in `stagegate::cli`.

fn main() -> std::process::ExitCode {
    stagegate::cli::main()
}
