// Answers a command line as nitro-cli 1.5.0's parser would: nitro-cli's own
// create_app! macro (src/lib.rs), taken from a nitro-cli checkout by
// record.sh into app.rs, under the clap release nitro-cli locks. Prints
// clap's message on the stream clap uses and exits with clap's status; a
// line that parses prints "parsed <command>".
use clap::{Arg, Command};
include!("app.rs");

fn main() {
    match create_app!().version("1.5.0").try_get_matches() {
        Ok(m) => println!("parsed {}", m.subcommand_name().unwrap_or("")),
        Err(e) => {
            let text = e.render().to_string();
            if e.use_stderr() {
                eprint!("{text}");
            } else {
                print!("{text}");
            }
            std::process::exit(e.exit_code());
        }
    }
}
