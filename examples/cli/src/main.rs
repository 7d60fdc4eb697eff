//! `mssync`: the command-line host of MsSync.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "mssync",
    version,
    about = "Keeps ERP.net activities and Outlook calendars in step"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the whole story on embedded simulators.
    Demo,
    /// Lists the Windows time zones Setup offers.
    TimeZones,
}

fn main() -> std::process::ExitCode {
    match Cli::parse().command {
        Command::Demo => {
            eprintln!(
                "The demo needs the sync engine and the simulators, which are not built yet; \
                 `mssync time-zones` shows what works today."
            );
            std::process::ExitCode::from(2)
        }
        Command::TimeZones => {
            for zone in mssync_core::model::tz::windows_zones() {
                println!("{:<40} {:<34} {}", zone.id, zone.iana, zone.display_name);
            }
            std::process::ExitCode::SUCCESS
        }
    }
}
