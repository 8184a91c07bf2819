//! `corenats`: the broker's command line (see `corenats::cli`).

fn main() -> std::process::ExitCode {
    corenats::cli::main()
}
