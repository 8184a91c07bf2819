//! `loadgen`: runs one NATS load scenario against a server; see `loadgen --help`.

use clap::Parser;

fn main() {
    let cli = corenats_loadgen::cli::Cli::parse();
    std::process::exit(corenats_loadgen::cli::run(cli));
}
