//! Entry point: everything happens in `cli::run`, which also decides the exit status.

fn main() -> std::process::ExitCode {
    renewctl::cli::run()
}
