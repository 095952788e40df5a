//! kbinit's entry point: parse, run, print the error chain, exit with kubeadm's codes.

use std::process::ExitCode;

use kbinit::error::{Exit, exit_code};

fn main() -> ExitCode {
    let argv: Vec<_> = std::env::args_os().collect();
    let argv0 = argv.first().cloned();
    match kbinit::cli::run(argv) {
        Ok(()) => ExitCode::from(Exit::Ok as u8),
        Err(e) => {
            if let Some(ce) = e.downcast_ref::<clap::Error>() {
                // help and --version are not errors; usage errors exit 1 (kubeadm keeps 2 for preflight)
                let _ = ce.print();
                let ok = matches!(
                    ce.kind(),
                    clap::error::ErrorKind::DisplayHelp
                        | clap::error::ErrorKind::DisplayVersion
                        | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                );
                return ExitCode::from(if ok { 0 } else { Exit::Failure as u8 });
            }
            let program = kbinit::output::Program::from_argv0(argv0.as_deref());
            kbinit::output::Output::new(0).with_program(program).err_line(&format!("error: {e:#}"));
            ExitCode::from(exit_code(&e) as u8)
        }
    }
}
