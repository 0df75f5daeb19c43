use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = hebbnet::cli::Cli::parse();
    match hebbnet::cli::execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            // 2: the user can fix it (config, usage, input files); 1: the run itself failed.
            let usage = err
                .chain()
                .find_map(|e| e.downcast_ref::<hebbnet::Error>())
                .is_some_and(hebbnet::Error::is_usage);
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}
